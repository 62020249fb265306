"""Slack's failures, played by the stand-in for tests: 429s, 5xx, slowness, refused channels, API errors,
free workspaces. (A Slack that is down — connections refused — is the stand-in stopped and started again
on its port: ``SlackStandIn.stop`` / ``start(port)``.)

Built on the stand-in's one hook (``SlackStandIn.intercept``), so none of this ships in the product.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from dockbolt.console.slack_standin import ApiAnswer, SlackStandIn

CHANNEL_PARAMS = ("channel", "channel_id")


class SlackFaults:
    """Faults injected into one stand-in; each answers a call before the stand-in's own method runs."""

    def __init__(self, standin: SlackStandIn) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, str] = {}
        self._rate_limits: dict[str, tuple[int, int]] = {}  # method -> (calls left, Retry-After)
        self._method_errors: dict[str, list[str]] = {}
        self._server_errors: dict[str, tuple[int, int]] = {}  # method -> (calls left, HTTP status)
        self._delay = 0.0
        self._plan_upgrade_required = False
        self.remove = standin.intercept(self._answer)

    def fail_channel(self, channel_id: str, error: str | None = "not_in_channel") -> None:
        """Make every call naming this channel fail with ``error``; ``error=None`` heals it."""
        with self._lock:
            if error is None:
                self._channels.pop(channel_id, None)
            else:
                self._channels[channel_id] = error

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After: retry_after``."""
        with self._lock:
            self._rate_limits[method] = (times, retry_after)

    def fail_method(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self._method_errors.setdefault(method, []).extend([error] * times)

    def server_error(self, method: str, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP ``status`` (a 5xx: Slack is unwell)."""
        with self._lock:
            self._server_errors[method] = (times, status)

    def slow(self, seconds: float) -> None:
        """Answer every call ``seconds`` late (a slow Slack; the delay is served on the call's thread)."""
        with self._lock:
            self._delay = seconds

    def pending(self, method: str) -> int:
        """How many injected errors of ``method`` have not been answered yet."""
        with self._lock:
            return len(self._method_errors.get(method) or ())

    def plan_upgrade_required(self, required: bool = True) -> None:
        """Make usergroups.users.list answer ``plan_upgrade_required`` (as on a free workspace)."""
        with self._lock:
            self._plan_upgrade_required = required

    def _answer(self, method: str, params: dict[str, Any]) -> ApiAnswer | None:
        with self._lock:
            delay = self._delay
        if delay:
            time.sleep(delay)
        with self._lock:
            failing, status = self._server_errors.get(method, (0, 0))
            if failing > 0:
                self._server_errors[method] = (failing - 1, status)
                return ApiAnswer(status, {"ok": False, "error": "service_unavailable"})
            left, retry_after = self._rate_limits.get(method, (0, 0))
            if left > 0:
                self._rate_limits[method] = (left - 1, retry_after)
                headers = {"Retry-After": str(retry_after)}
                return ApiAnswer(429, {"ok": False, "error": "ratelimited"}, headers)
            queued = self._method_errors.get(method)
            if queued:
                return _error(queued.pop(0))
            if method == "usergroups.users.list" and self._plan_upgrade_required:
                return _error("plan_upgrade_required")
            for channel in _channels_named(params):
                if channel in self._channels:
                    return _error(self._channels[channel])
        return None


def _error(error: str) -> ApiAnswer:
    return ApiAnswer(200, {"ok": False, "error": error})


def _channels_named(params: dict[str, Any]) -> list[str]:
    named = [params.get(key) for key in CHANNEL_PARAMS]
    named += str(params.get("channels") or "").split(",")  # files.completeUploadExternal's list form
    return [c for c in named if isinstance(c, str) and c]
