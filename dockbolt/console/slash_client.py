"""Send slash commands and interaction payloads to a bot exactly as Slack does: form-encoded bodies,
signed with the signing secret.

Used by the local console and by tests. The signature is computed here with hmac/hashlib (Slack's
``v0`` scheme) rather than borrowed from slack_sdk, so tests can check the two agree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack
from urllib.parse import urlencode

# The workspace and app the console plays (the stand-in's auth.test answers the same team).
TEAM_ID = "T0LOCAL"
TEAM_DOMAIN = "dockbolt-local"
APP_ID = "A0LOCAL"


@dataclass(frozen=True)
class SlashResponse:
    """The bot's HTTP answer: status, raw body, and the body as a JSON object when it is one."""

    status: int
    body: str
    json: dict[str, Any] | None


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlashFields(TypedDict, total=False):
    """The optional fields of a slash command, with Slack's meaning (defaults in ``slash_body``)."""

    command: str  # default "/docker"
    team_id: str  # default "T0LOCAL"
    user_name: str  # default: the user id in lower case
    response_url: str
    trigger_id: str  # default: a fresh one, as Slack sends


def slash_body(
    *, text: str, user_id: str, channel_id: str, verification_token: str = "", **fields: Unpack[SlashFields]
) -> bytes:
    """The form-encoded body Slack POSTs for a slash command (same fields, same order)."""
    form = [
        # The legacy verification token: Slack still sends it (one per app); signed requests make it
        # redundant and nothing here checks it, so it is random rather than a constant to copy.
        ("token", verification_token or random_verification_token()),
        ("team_id", fields.get("team_id", TEAM_ID)),
        ("team_domain", TEAM_DOMAIN),
        ("channel_id", channel_id),
        ("channel_name", channel_name(channel_id)),
        ("user_id", user_id),
        ("user_name", fields.get("user_name") or user_id.lower()),
        ("command", fields.get("command", "/docker")),
        ("text", text),
        ("api_app_id", APP_ID),
        ("is_enterprise_install", "false"),
        ("response_url", fields.get("response_url", "")),
        ("trigger_id", fields.get("trigger_id") or new_trigger_id()),
    ]
    return urlencode(form).encode()


def interaction_body(payload: Mapping[str, Any]) -> bytes:
    """The form-encoded body Slack POSTs for an interaction (a click): ``payload=<JSON>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def channel_name(channel_id: str) -> str:
    """The channel name Slack sends along with a channel id (no names here: the id in lower case)."""
    return "directmessage" if channel_id.startswith("D") else channel_id.lower()


class SlashClient:
    """POSTs signed slash commands and interaction payloads to one bot URL (Slack uses the same one)."""

    def __init__(self, url: str, signing_secret: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"bot URL must be http(s): {url!r}")
        self.url = url
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.verification_token = random_verification_token()

    def send(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        timestamp: int | None = None,
        sign: bool = True,
        **fields: Unpack[SlashFields],
    ) -> SlashResponse:
        """Send one slash command (signed unless ``sign=False``) and return the bot's answer."""
        body = slash_body(text=text, user_id=user_id, channel_id=channel_id,
                          verification_token=self.verification_token, **fields)
        return self.send_signed(body, timestamp=timestamp, sign=sign)

    def send_interaction(
        self, payload: Mapping[str, Any], *, timestamp: int | None = None, sign: bool = True
    ) -> SlashResponse:
        """Send one interaction payload (e.g. ``block_actions``) as Slack does; return the bot's answer."""
        return self.send_signed(interaction_body(payload), timestamp=timestamp, sign=sign)

    def send_signed(self, body: bytes, *, timestamp: int | None = None, sign: bool = True) -> SlashResponse:
        """POST a form-encoded ``body`` with Slack's timestamp and (unless ``sign=False``) signature."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
        }
        if sign:
            headers["X-Slack-Signature"] = signature(self.signing_secret, ts, body)
        return self.send_raw(body, headers)

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> SlashResponse:
        """POST ``body`` with exactly ``headers`` (e.g. a bad signature) and return the answer."""
        # The scheme was checked in __init__ (http/https only).
        request = urllib.request.Request(self.url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return _response(resp.status, resp.read())
        except urllib.error.HTTPError as exc:
            # 4xx/5xx are answers too (e.g. 401 for a bad signature): return them, don't raise.
            with exc:
                return _response(exc.code, exc.read())


def _response(status: int, raw: bytes) -> SlashResponse:
    body = raw.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    return SlashResponse(status, body, parsed if isinstance(parsed, dict) else None)


def random_verification_token() -> str:
    """A legacy verification token as Slack sends one (random: nothing checks it)."""
    return secrets.token_urlsafe(18)  # Slack's are 24 characters


def new_trigger_id() -> str:
    """A fresh trigger id (Slack sends one with every command and click)."""
    # Slack's trigger ids look like "<digits>.<digits>.<hex>"; a fresh one per command, as Slack does.
    return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
