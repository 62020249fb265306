"""The ``block_actions`` payload Slack sends when a user clicks a button or picks a menu option.

Shape as documented at https://docs.slack.dev/reference/interaction-payloads/block_actions-payload: the
clicking user and team, a ``container`` naming the message (``thread_ts`` for a reply, ``is_ephemeral``),
the message itself (not for an ephemeral one: Slack leaves it out), a ``response_url``, and ``actions``
holding the one element clicked (Bolt routes on ``actions[0].action_id``). Pure functions: the console
(``dockbolt.console.clicking``) and the stand-in's Socket Mode (``socket_messages``) send them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from dockbolt.console.slash_client import (
    APP_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    channel_name,
    new_trigger_id,
    random_verification_token,
)
from dockbolt.console.standin.chat import message_json
from dockbolt.console.standin.models import Ephemeral, Message

# Element types whose click picks one of ``options``/``option_groups`` (``selected_option`` in the payload).
MENU_TYPES = frozenset({"static_select", "overflow"})


@dataclass(frozen=True)
class ClickSource:
    """The message a choice sits on: where it is and, unless ephemeral, the message as Slack shows it."""

    channel_id: str
    ts: str
    thread_ts: str | None = None
    ephemeral: bool = False
    message: dict[str, Any] | None = None  # None for an ephemeral message (Slack omits it)

    @classmethod
    def of_message(cls, message: Message) -> ClickSource:
        """A channel message (top level or reply) of the stand-in."""
        return cls(message.channel, message.ts, message.thread_ts if message.is_reply else None,
                   message=message_json(message))

    @classmethod
    def of_ephemeral(cls, ephemeral: Ephemeral) -> ClickSource:
        """A chat.postEphemeral message."""
        return cls(ephemeral.channel, ephemeral.ts, ephemeral.thread_ts, ephemeral=True)

    @classmethod
    def of_answer(cls, channel_id: str, ts: str, *, in_channel: bool, text: str,
                  blocks: list[Any] | None) -> ClickSource:
        """An answer the bot gave through its ack or a response_url (``ts``: the one Slack would give it)."""
        if not in_channel:
            return cls(channel_id, ts, ephemeral=True)
        return cls(channel_id, ts, message=message_json(Message(channel_id, ts, text, blocks=blocks)))


def element_action(element: dict[str, Any], block_id: str, option: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The ``actions[]`` entry for a click on ``element`` (picking ``option`` of a menu), without
    ``action_ts`` (``block_actions`` stamps it when sent)."""
    kind = str(element.get("type") or "button")
    action: dict[str, Any] = {"action_id": element.get("action_id", ""), "block_id": block_id, "type": kind}
    if kind == "button":
        if isinstance(element.get("text"), dict):
            action["text"] = element["text"]
        if "value" in element:
            action["value"] = element["value"]
    elif option is not None:
        action["selected_option"] = {"text": option.get("text"), "value": option.get("value")}
        if isinstance(element.get("placeholder"), dict):
            action["placeholder"] = element["placeholder"]
    return action


def block_actions(*, action: dict[str, Any], source: ClickSource, user_id: str, response_url: str,
                  token: str = "", trigger_id: str = "") -> dict[str, Any]:
    """The whole payload for ``user_id`` clicking ``action`` (from ``element_action``) on ``source``."""
    container: dict[str, Any] = {"type": "message", "message_ts": source.ts, "channel_id": source.channel_id,
                                 "is_ephemeral": source.ephemeral}
    if source.thread_ts:
        container["thread_ts"] = source.thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": token or random_verification_token(),
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": source.channel_id, "name": channel_name(source.channel_id)},
    }
    if source.message is not None:
        payload["message"] = source.message
    payload["state"] = {"values": {}}
    payload["response_url"] = response_url
    payload["actions"] = [{**action, "action_ts": f"{time.time():.6f}"}]
    return payload
