"""Signals the scoring pass sends to what follows it downstream (reports), without importing them."""

from django.dispatch import Signal

#: Sent once a pass has completed and its outcome is committed; argument ``scoring_pass_id``.
pass_completed = Signal()
