"""Signals the scoring pass sends to what follows it downstream (reports), without importing them."""

from django.dispatch import Signal

#: Sent once a pass has completed and its outcome is committed; arguments ``scoring_pass_id`` and
#: ``accounts_only`` (True for a pass over a few accounts whose product events just arrived).
pass_completed = Signal()
