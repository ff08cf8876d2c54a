"""The split-credit log: who gets credit for a won EQL, written once, hash-chained and signed.

``rules`` (pure: credit rules, splits, the keyed chain and its signed heads), ``services`` (writing
credit at close and corrections, verifying the chain), ``anchors`` (where signed heads are kept),
``selectors`` and ``exports`` (Finance's reads and CSV), ``api`` (``GET /api/attribution/``). The
entries themselves are ``expansion.models.AttributionEntry``; Finance's pages are
``dashboards.attribution_views``.
"""
