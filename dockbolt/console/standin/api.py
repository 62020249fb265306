"""The Web API side of the stand-in: authentication, the method table, and hooks that may answer first.

Answers follow Slack's conventions: HTTP 200 with ``{"ok": false, "error": …}`` for API errors, HTTP 429
with ``Retry-After`` when rate limited, and ``response_metadata.messages`` detail for invalid blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockbolt.console.standin import chat, conversations, files, views
from dockbolt.console.standin.limits import ApiError
from dockbolt.console.standin.models import Call
from dockbolt.console.standin.state import StandInState

if TYPE_CHECKING:
    from dockbolt.console.standin.socket_mode import SocketMode

Method = Callable[["WebApi", dict[str, Any]], dict[str, Any]]

TEAM_ID = "T0LOCAL"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass
class ApiAnswer:
    """What to send back for one API call."""

    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


# Consulted with (method, params) before an authenticated call; an answer it returns replaces the call's.
Hook = Callable[[str, dict[str, Any]], ApiAnswer | None]


class WebApi:
    """Slack Web API methods over a StandInState, with the configured token, user groups and hooks."""

    def __init__(self, state: StandInState, token: str, usergroups: dict[str, list[str]] | None) -> None:
        self.state = state
        self.token = token
        self.bot_user_id = BOT_USER_ID
        self.origin = ""
        self.usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        self.hooks: list[Hook] = []
        # Socket Mode (set when the stand-in has an app-level token): apps.connections.open takes only that.
        self.socket: SocketMode | None = None
        self.uploads: dict[str, files.PendingUpload] = {}
        self._lock = state.lock
        self.methods: dict[str, Method] = {
            "auth.test": _auth_test,
            "chat.postMessage": chat.post_message,
            "chat.update": chat.update,
            "chat.postEphemeral": chat.post_ephemeral,
            "conversations.open": conversations.open_conversation,
            "files.getUploadURLExternal": files.get_upload_url,
            "files.completeUploadExternal": files.complete_upload,
            "usergroups.users.list": _usergroups_users_list,
            "apps.connections.open": _apps_connections_open,
            "views.publish": views.publish,
        }

    def call(self, method: str, params: dict[str, Any], token: str | None) -> ApiAnswer:
        """Authenticate, consult the hooks, run the method and record the call."""
        try:
            answer = self._call(method, params, token)
        except ApiError as exc:
            payload: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.details:
                payload["response_metadata"] = {"messages": exc.details}
            answer = ApiAnswer(200, payload)
        error = None if answer.payload.get("ok") else str(answer.payload.get("error", "unknown_error"))
        self.state.record_call(Call(method, params, time.time(), error))
        return answer

    def _call(self, method: str, params: dict[str, Any], token: str | None) -> ApiAnswer:
        if not token:
            raise ApiError("not_authed")
        if method == "apps.connections.open":
            self._check_app_token(token)
        elif token != self.token:
            raise ApiError("invalid_auth")
        with self._lock:
            hooks = list(self.hooks)
        for hook in hooks:
            answer = hook(method, params)
            if answer is not None:
                return answer
        impl = self.methods.get(method)
        if impl is None:
            raise ApiError("unknown_method")
        return ApiAnswer(200, {"ok": True, **impl(self, params)})

    def _check_app_token(self, token: str) -> None:
        # As Slack: a bot token is the wrong kind of token here; anything else unknown is invalid_auth.
        if token == self.token:
            raise ApiError("not_allowed_token_type")
        if self.socket is None or token != self.socket.app_token:
            raise ApiError("invalid_auth")

    def check_channel(self, channel: Any) -> str:
        """Return the channel id, or raise channel_not_found."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        return channel


def _auth_test(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://dockbolt-standin.slack.com/",
        "team": "Dockbolt stand-in",
        "user": "dockbolt",
        "team_id": TEAM_ID,
        "user_id": api.bot_user_id,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _apps_connections_open(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    assert api.socket is not None  # _check_app_token refused the call otherwise
    return {"url": api.socket.new_url()}


def _usergroups_users_list(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    members = api.usergroups.get(str(params.get("usergroup", "")))
    if members is None:
        raise ApiError("no_such_subteam")
    return {"users": list(members)}

