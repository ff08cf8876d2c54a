"""The ``slack`` fixture: the fake Web API running, and the app pointed at it (token and secret set)."""

from __future__ import annotations

import pytest

from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET, SlackFake


@pytest.fixture
def slack(httpserver, settings) -> SlackFake:
    fake = SlackFake(server=httpserver)
    fake.install()
    settings.SLACK_BOT_TOKEN = BOT_TOKEN
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_API_BASE = fake.base_url
    settings.SLACK_WEBHOOK_URL = ""
    settings.APP_BASE_URL = "https://eql.example.com"
    return fake
