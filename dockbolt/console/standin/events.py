"""Events API deliveries as Slack makes them: an ``event_callback`` body around one event, POSTed as JSON
to the app's request URL and signed like a slash command (``v0`` HMAC of ``v0:{timestamp}:{body}``), or
sent over Socket Mode as the payload of an ``events_api`` envelope (``SocketMode.app_home_opened``).

Only the event the bot subscribes to is built here: ``app_home_opened`` (the user opened the app's Home,
Messages or About tab). See https://docs.slack.dev/reference/events/app_home_opened.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from dockbolt.console.slash_client import APP_ID, TEAM_ID, SlashClient, SlashResponse, signature
from dockbolt.console.standin.api import BOT_USER_ID


def app_home_opened(user_id: str, *, tab: str = "home", view: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event: ``user_id`` opened ``tab`` ("home", "messages", "about"); ``view`` is the Home view
    they last saw, when there is one."""
    event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": f"D0{user_id}",
                             "tab": tab, "event_ts": f"{time.time():.6f}"}
    if view is not None:
        event["view"] = view
    return event


def event_callback(event: dict[str, Any]) -> dict[str, Any]:
    """The Events API body around ``event``, with a fresh event id, for the stand-in's team and app."""
    return {
        "token": secrets.token_urlsafe(18),  # the legacy verification token; signed requests make it moot
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


class EventsClient:
    """POSTs signed Events API bodies to one bot URL, as Slack does."""

    def __init__(self, url: str, signing_secret: str, timeout: float = 10.0) -> None:
        self._http = SlashClient(url, signing_secret, timeout)
        self.url = url
        self.signing_secret = signing_secret

    def send(self, payload: dict[str, Any], *, timestamp: int | None = None, sign: bool = True,
             retry: int = 0) -> SlashResponse:
        """POST ``payload`` as JSON (signed unless ``sign=False``; ``retry`` > 0: Slack's retry headers)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(ts)}
        if sign:
            headers["X-Slack-Signature"] = signature(self.signing_secret, ts, body)
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return self._http.send_raw(body, headers)

    def app_home_opened(self, user_id: str, *, tab: str = "home") -> SlashResponse:
        """Deliver ``app_home_opened`` for ``user_id``; returns the bot's HTTP answer."""
        return self.send(event_callback(app_home_opened(user_id, tab=tab)))
