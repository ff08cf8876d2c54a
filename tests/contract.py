"""The EQL record keys, written out from spec/contract.md once for every test that checks the shape
(kept independent of the application code on purpose)."""

CONTRACT_KEYS = [
    "id",
    "account_id",
    "account_name",
    "status",
    "score",
    "primary_signal",
    "triggered_signals",
    "route",
    "owner_email",
    "csm_email",
    "csm_involvement_required",
    "contract_arr",
    "estimated_expansion_arr",
    "estimate_source",
    "opening_angle",
    "last_csm_activity_at",
    "created_at",
    "updated_at",
    "sla_deadline",
    "review_window_ends_at",
    "closed_at",
]
