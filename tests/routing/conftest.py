"""Fixtures for the routing tests: the local fake of the Slack Web API."""

from tests.slack_fake.fixtures import slack  # noqa: F401  (the fixture, for every test here)
