"""An EQL's statuses, which are open and which closed: one source for the models and the pure rules.

Plain strings with no Django import, so the pure lifecycle, digest and metrics code can use them.
"""

from __future__ import annotations

NEW, CONTACTED, CALL_BOOKED, PROPOSAL_SENT = "new", "contacted", "call_booked", "proposal_sent"
WON, LOST, DECLINED = "won", "lost", "declined"
#: Statuses of an EQL still being worked (one open EQL per account).
OPEN = (NEW, CONTACTED, CALL_BOOKED, PROPOSAL_SENT)
#: Statuses that end an EQL and start the suppression window.
CLOSED = (WON, LOST, DECLINED)
