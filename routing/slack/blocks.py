"""Block Kit for the Slack app: an EQL's message, the disqualify modal, the weekly digest.

Pure: plain values in, Slack's JSON shapes (dicts) out; no Django, no settings, no network."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

#: action_id of each interactive element; ``routing.slack.services`` dispatches on them.
ACCEPT = "eql_accept"
SNOOZE = "eql_snooze"
DISQUALIFY = "eql_disqualify"
OPEN = "eql_open"
LINK = "eql_link"
#: callback_id of the disqualify modal.
DISQUALIFY_VIEW = "eql_disqualify_view"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_code"
NOTE_BLOCK = "note"
NOTE_ACTION = "note_text"
#: Snooze choices offered, in days.
SNOOZE_DAYS = (1, 3, 7)
#: Slack limits: section text 3000 characters, button text 75, header 150, 25 blocks per modal option list.
SECTION_LIMIT = 3000
BUTTON_LIMIT = 75
HEADER_LIMIT = 150


@dataclass(frozen=True)
class EqlCard:
    """What an EQL's message shows: the three questions (why now, worth, what to say) and its state."""

    eql_id: int
    title: str
    account: str
    route: str
    score: int
    why_now: Sequence[str]
    worth: str
    opening_angle: str
    url: str
    sla: str = ""
    csm_note: str = ""
    #: Who did what last ("Accepted by Alex Rivera, 4 Dec 2025, 14:05"); shown under the buttons.
    done: str = ""
    #: Open and not a CSM review item: Accept, Snooze and Disqualify are offered.
    actionable: bool = True
    extra: Sequence[str] = field(default_factory=tuple)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_LIMIT)}}


def _button(text: str, action_id: str, *, value: str = "", url: str = "", style: str = "") -> dict:
    button: dict = {"type": "button", "text": {"type": "plain_text", "text": _cut(text, BUTTON_LIMIT)}}
    button["action_id"] = action_id
    if value:
        button["value"] = value
    if url:
        button["url"] = url
    if style:
        button["style"] = style
    return button


def eql_message(card: EqlCard, *, extra_links: Sequence[tuple[str, str]] = ()) -> tuple[str, list[dict]]:
    """The EQL's message: fallback text and blocks.

    Buttons: Accept, Snooze (1/3/7 days), Disqualify, Open (deep link), then one link button per
    ``extra_links`` (label, url) — the place for "Open in Salesforce/HubSpot" once the CRM link exists.
    A closed or taken-on EQL keeps its links and drops the buttons it no longer takes."""
    text = f"{card.title}: {card.account} · score {card.score}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(text, HEADER_LIMIT)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _cut(
                        f"Route: {card.route}" + (f" · {card.sla}" if card.sla else ""), SECTION_LIMIT
                    ),
                }
            ],
        },
        _section("*Why now*\n" + ("\n".join(f"• {line}" for line in card.why_now) or "—")),
        _section(f"*Worth*\n{card.worth}"),
        _section(f"*What to say*\n{card.opening_angle or '—'}"),
    ]
    if card.csm_note:
        blocks.append(_section(f"*CSM note*\n{card.csm_note}"))
    for line in card.extra:
        blocks.append(_section(line))
    elements: list[dict] = []
    if card.actionable:
        elements.append(_button("Accept", ACCEPT, value=str(card.eql_id), style="primary"))
        elements.append(
            {
                "type": "static_select",
                "action_id": SNOOZE,
                "placeholder": {"type": "plain_text", "text": "Snooze"},
                "options": [
                    {
                        "text": {"type": "plain_text", "text": f"{days} day{'s' if days > 1 else ''}"},
                        "value": f"{card.eql_id}:{days}",
                    }
                    for days in SNOOZE_DAYS
                ],
            }
        )
        elements.append(_button("Disqualify", DISQUALIFY, value=str(card.eql_id), style="danger"))
    elements.append(_button("Open", OPEN, value=str(card.eql_id), url=card.url))
    for i, (label, url) in enumerate(extra_links):
        elements.append(_button(label, f"{LINK}_{i}", value=str(card.eql_id), url=url))
    blocks.append({"type": "actions", "block_id": f"eql_{card.eql_id}", "elements": elements})
    if card.done:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(card.done, SECTION_LIMIT)}]}
        )
    return text, blocks


def disqualify_modal(
    *, eql_id: int, account: str, reasons: Sequence[tuple[str, str]], metadata: dict
) -> dict:
    """The modal asking for a declined reason code (and an optional note) before closing the EQL."""
    return {
        "type": "modal",
        "callback_id": DISQUALIFY_VIEW,
        "private_metadata": json.dumps({"eql": eql_id, **metadata}, sort_keys=True),
        "title": {"type": "plain_text", "text": "Disqualify EQL"},
        "submit": {"type": "plain_text", "text": "Disqualify"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(
                f"Close the EQL on *{account}* as declined. The account gets no new EQL during the "
                "suppression window."
            ),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": REASON_ACTION,
                    "placeholder": {"type": "plain_text", "text": "Choose a reason"},
                    "options": [
                        {"text": {"type": "plain_text", "text": _cut(label, BUTTON_LIMIT)}, "value": code}
                        for code, label in reasons
                    ],
                },
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True},
            },
        ],
    }


def digest_message(*, subject: str, body: str, link: str) -> tuple[str, list[dict]]:
    """The weekly digest as Block Kit: its subject as header, its lines, a link to the inbox."""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(subject, HEADER_LIMIT)}},
        _section(body),
        {"type": "actions", "elements": [_button("Open the inbox", OPEN, url=link)]},
    ]
    return subject, blocks


def notice_message(*, subject: str, body: str) -> tuple[str, list[dict]]:
    """Any other notification (holds, SLA warnings, pass alerts) as a plain section."""
    return subject, [_section(f"*{subject}*\n{body}")]
