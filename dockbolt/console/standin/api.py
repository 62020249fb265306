"""The Web API side of the stand-in: authentication, fault injection and the method table.

Answers follow Slack's conventions: HTTP 200 with ``{"ok": false, "error": …}`` for API errors, HTTP 429
with ``Retry-After`` when rate limited, and ``response_metadata.messages`` detail for invalid blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockbolt.console.standin import chat, files
from dockbolt.console.standin.limits import ApiError
from dockbolt.console.standin.models import Call
from dockbolt.console.standin.state import StandInState

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


@dataclass
class _Faults:
    channels: dict[str, str] = field(default_factory=dict)
    rate_limits: dict[str, list[int]] = field(default_factory=dict)
    method_errors: dict[str, list[str]] = field(default_factory=dict)
    plan_upgrade_required: bool = False


class WebApi:
    """Slack Web API methods over a StandInState, with the configured token, user groups and faults."""

    def __init__(self, state: StandInState, token: str, usergroups: dict[str, list[str]] | None) -> None:
        self.state = state
        self.token = token
        self.bot_user_id = BOT_USER_ID
        self.origin = ""
        self.usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        self.users: dict[str, str] = {}
        self.faults = _Faults()
        self.uploads: dict[str, files.PendingUpload] = {}
        self._lock = state.lock
        self.methods: dict[str, Method] = {
            "auth.test": _auth_test,
            "chat.postMessage": chat.post_message,
            "chat.update": chat.update,
            "chat.postEphemeral": chat.post_ephemeral,
            "files.getUploadURLExternal": files.get_upload_url,
            "files.completeUploadExternal": files.complete_upload,
            "usergroups.users.list": _usergroups_users_list,
            "users.info": _users_info,
        }

    def call(self, method: str, params: dict[str, Any], token: str | None) -> ApiAnswer:
        """Authenticate, apply injected faults, run the method and record the call."""
        error: str | None = None
        try:
            answer = self._call(method, params, token)
        except ApiError as exc:
            error = exc.error
            payload: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.details:
                payload["response_metadata"] = {"messages": exc.details}
            answer = ApiAnswer(200, payload)
        if answer.status == 429:
            error = "ratelimited"
        self.state.record_call(Call(method, params, time.time(), error))
        return answer

    def _call(self, method: str, params: dict[str, Any], token: str | None) -> ApiAnswer:
        if not token:
            raise ApiError("not_authed")
        if token != self.token:
            raise ApiError("invalid_auth")
        with self._lock:
            limit = self.faults.rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                headers = {"Retry-After": str(limit[1])}
                return ApiAnswer(429, {"ok": False, "error": "ratelimited"}, headers)
            queued = self.faults.method_errors.get(method)
            if queued:
                raise ApiError(queued.pop(0))
        impl = self.methods.get(method)
        if impl is None:
            raise ApiError("unknown_method")
        return ApiAnswer(200, {"ok": True, **impl(self, params)})

    def check_channel(self, channel: Any) -> str:
        """Return the channel id, or raise channel_not_found / the error injected for that channel."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        with self._lock:
            injected = self.faults.channels.get(channel)
        if injected:
            raise ApiError(injected)
        return channel

    def fail_channel(self, channel: str, error: str | None) -> None:
        """Make every call naming ``channel`` fail with ``error`` (None clears it)."""
        with self._lock:
            if error is None:
                self.faults.channels.pop(channel, None)
            else:
                self.faults.channels[channel] = error

    def rate_limit(self, method: str, times: int, retry_after: int) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        with self._lock:
            self.faults.rate_limits[method] = [times, retry_after]

    def fail_method(self, method: str, error: str, times: int) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error``."""
        with self._lock:
            self.faults.method_errors.setdefault(method, []).extend([error] * times)


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


def _usergroups_users_list(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    with api._lock:
        if api.faults.plan_upgrade_required:
            raise ApiError("plan_upgrade_required")
        members = api.usergroups.get(str(params.get("usergroup", "")))
    if members is None:
        raise ApiError("no_such_subteam")
    return {"users": list(members)}


def _users_info(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    user = params.get("user")
    # Any Slack-shaped user id exists here; names can be configured for nicer output.
    if not isinstance(user, str) or user[:1] not in ("U", "W") or not user.isalnum():
        raise ApiError("user_not_found")
    name = api.users.get(user, user.lower())
    profile = {"real_name": name, "display_name": name}
    return {
        "user": {
            "id": user,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name,
            "deleted": False,
            "is_bot": user == api.bot_user_id,
            "tz": "UTC",
            "profile": profile,
        }
    }
