"""Slack app mode: direct messages and channel posts with buttons, updated in place, and the
interactions endpoint that applies the buttons through the lifecycle service.

``blocks`` builds Block Kit (pure, no Django); ``client`` calls the Web API; ``services`` decides and
writes; ``views`` receives Slack's signed requests; ``tasks`` are the thin Celery tasks.
"""
