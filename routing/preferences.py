"""Which deliveries a notification gets: each person's channel preference and daily Slack cap, and
the Slack channel a routing rule posts new EQLs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from routing.models import Delivery, Notification, NotificationPreference, RoutingRule

Channels = NotificationPreference.Channels
#: Kinds a person hears about at once; with "digest only" they wait for the weekly digest (in-app too).
IMMEDIATE_KINDS = frozenset(Notification.Kind.values) - {Notification.Kind.DIGEST}


def slack_on() -> bool:
    """Slack is connected: the app (bot token) or an incoming webhook."""
    return bool(settings.SLACK_BOT_TOKEN or settings.SLACK_WEBHOOK_URL)


def preferences(user_ids: Sequence[int]) -> dict[int, NotificationPreference]:
    return {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=list(user_ids))}


def channels_for(pref: NotificationPreference | None, *, kind: str) -> list[str]:
    """The channels one notification goes out on for this person (the in-app one always exists)."""
    choice = pref.channels if pref else Channels.BOTH
    if kind == Notification.Kind.DIGEST:
        wanted = {Channels.SLACK: ["slack"], Channels.BOTH: ["email", "slack"]}.get(choice, ["email"])
    elif choice == Channels.DIGEST_ONLY:
        wanted = []
    else:
        wanted = {Channels.SLACK: ["slack"], Channels.EMAIL: ["email"]}.get(choice, ["email", "slack"])
    return [c for c in wanted if c == "email" or slack_on()]


def _day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rule_channels() -> dict[str, str]:
    """Routing rule name -> its Slack channel, for the rules that set one."""
    return dict(RoutingRule.objects.exclude(slack_channel="").values_list("name", "slack_channel"))


def deliveries_plan(notes: Sequence[Notification], *, now: dt.datetime | None = None) -> list[Delivery]:
    """Unsaved deliveries for ``notes``: per recipient's preference; a direct Slack message over the
    recipient's daily cap is recorded as capped (not sent); a new EQL whose routing rule names a Slack
    channel also gets one channel post (app mode), hung off its first notification."""
    now = now or timezone.now()
    prefs = preferences([n.recipient_id for n in notes])
    sent_today = Counter(
        Delivery.objects.filter(
            channel=Delivery.Channel.SLACK,
            slack_channel="",
            notification__recipient_id__in=[n.recipient_id for n in notes],
            notification__created_at__gte=_day_start(now),
        )
        .exclude(status=Delivery.Status.CAPPED)
        .values_list("notification__recipient_id", flat=True)
    )
    by_rule = rule_channels() if settings.SLACK_BOT_TOKEN else {}
    posted: set[int] = set()
    out = []
    for n in notes:
        pref = prefs.get(n.recipient_id)
        for channel in channels_for(pref, kind=n.kind):
            d = Delivery(notification=n, channel=channel)
            if channel == Delivery.Channel.SLACK:
                cap = pref.slack_daily_cap if pref and pref.slack_daily_cap is not None else None
                cap = settings.SLACK_DAILY_CAP_DEFAULT if cap is None else cap
                if n.kind != Notification.Kind.DIGEST and sent_today[n.recipient_id] >= cap:
                    d.status = Delivery.Status.CAPPED
                    d.last_error = f"daily Slack cap of {cap} reached; in the app and the digest"
                else:
                    sent_today[n.recipient_id] += 1
            out.append(d)
        eql = n.eql if n.eql_id else None
        if eql is not None and n.kind == Notification.Kind.NEW_EQL and eql.pk not in posted:
            posted.add(eql.pk)
            channel_id = by_rule.get((eql.evaluation or {}).get("route_rule", ""))
            if channel_id:
                out.append(Delivery(notification=n, channel=Delivery.Channel.SLACK, slack_channel=channel_id))
    return out
