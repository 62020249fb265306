"""What crosses a Socket Mode websocket: Slack's envelopes and the payloads inside them, and the records
of the connections and of the acks the app sends back.

A slash command's payload holds the same fields as its HTTP form body (``slash_client.slash_body``), as
a JSON object of strings; a button click is a ``block_actions`` payload (``dockbolt.console.block_actions``),
as Slack sends to an app's interactivity handler. Envelopes and their acks are described at
https://docs.slack.dev/apis/events-api/using-socket-mode/.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Unpack
from urllib.parse import parse_qsl

from dockbolt.console import block_actions as clicks
from dockbolt.console.block_actions import ClickSource
from dockbolt.console.slash_client import APP_ID, SlashFields, slash_body

HOST = "applink-dockbolt-standin"


@dataclass(frozen=True)
class Ack:
    """One acknowledgement read back from the app: ``{"envelope_id": …, "payload": …}``."""

    envelope_id: str
    kind: str  # the type of the envelope it answers ("slash_commands", "interactive"; "" if unknown)
    payload: dict[str, Any] | None
    latency: float  # seconds from sending the envelope to reading its ack
    connection: int

    @property
    def text(self) -> str:
        """The text of the ack's response payload (the ephemeral answer of a slash command), or ""."""
        return str((self.payload or {}).get("text", ""))


@dataclass(frozen=True)
class SocketLink:
    """One websocket connection of the app, numbered from 1 in the order they were opened."""

    number: int
    opened_at: float
    closed_at: float | None = None

    @property
    def open(self) -> bool:
        """True until the connection is closed (by either side)."""
        return self.closed_at is None


def hello(connections: int) -> dict[str, Any]:
    """The first message on every new connection."""
    return {"type": "hello", "num_connections": connections,
            "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID}}


def disconnect(reason: str) -> dict[str, Any]:
    """Slack's notice that this connection will go (``refresh_requested``, ``warning``, ``link_disabled``)."""
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}


def envelope(kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> dict[str, Any]:
    """One envelope with a fresh ``envelope_id``; the app acks it by that id."""
    return {"envelope_id": secrets.token_hex(16), "type": kind, "payload": payload,
            "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""}


def slash_command(text: str, *, user_id: str, channel_id: str,
                  **fields: Unpack[SlashFields]) -> dict[str, str]:
    """A ``slash_commands`` payload: the HTTP form fields of the same command (a fresh trigger_id)."""
    body = slash_body(text=text, user_id=user_id, channel_id=channel_id, **fields)
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def block_actions(*, action_id: str, value: str, user_id: str, channel_id: str, message_ts: str,
                  block_id: str = "actions", response_url: str = "") -> dict[str, Any]:
    """A ``block_actions`` payload: ``user_id`` clicked the button ``action_id`` on message ``message_ts``."""
    button = {"type": "button", "action_id": action_id, "value": value,
              "text": {"type": "plain_text", "text": action_id}}
    source = ClickSource(channel_id, message_ts, message={"type": "message", "ts": message_ts, "user": "UBOT",
                                                          "text": ""})
    return clicks.block_actions(action=clicks.element_action(button, block_id), source=source,
                                user_id=user_id, response_url=response_url)
