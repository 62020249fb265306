"""A local stand-in for the Slack Web API, used by ``dockbolt up``'s console and by tests.

Speaks the Web API the way slack_sdk's ``WebClient(base_url=standin.base_url)`` and ``WebhookClient``
use it, enforces Slack's message limits, records everything (thread-safe queries, ``wait_for``,
``subscribe``) and can inject faults (``fail_channel``, ``rate_limit``, ``fail_method``).

Implementation lives in ``dockbolt.console.standin``: ``models`` (records), ``limits`` (Slack's rules),
``state`` (recording, waiting, events), ``api``/``chat``/``files`` (methods), ``response_urls``, ``http``.
"""

from __future__ import annotations

import threading
from types import TracebackType

from dockbolt.console.standin.api import BOT_USER_ID, WebApi
from dockbolt.console.standin.http import StandInServer
from dockbolt.console.standin.models import (
    FINAL_STATUSES,
    JOB_EVENT_TYPE,
    Call,
    Ephemeral,
    Message,
    ResponsePost,
    StandInEvent,
    UploadedFile,
)
from dockbolt.console.standin.response_urls import ResponseUrls
from dockbolt.console.standin.state import StandInState

__all__ = [
    "FINAL_STATUSES",
    "JOB_EVENT_TYPE",
    "Call",
    "Ephemeral",
    "Message",
    "ResponsePost",
    "SlackStandIn",
    "StandInEvent",
    "UploadedFile",
]


class SlackStandIn(StandInState):
    """The Slack Web API on 127.0.0.1 (port chosen by the OS), recording what it is asked to do."""

    def __init__(
        self,
        token: str = "xoxb-standin",  # noqa: S107 - only this local stand-in accepts it
        usergroups: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_user_id = BOT_USER_ID
        self._api = WebApi(self, token, usergroups)
        self._responses = ResponseUrls(self, BOT_USER_ID)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The Web API base URL to give ``WebClient(base_url=…)`` ("http://127.0.0.1:PORT/api/")."""
        return f"{self._origin()}/api/"

    def start(self) -> SlackStandIn:
        """Bind a free port and serve in a daemon thread."""
        if self._server is None:
            self._server = StandInServer(self._api, self._responses)
            self._api.origin = self._responses.origin = self._origin()
            # A short poll interval keeps stop() quick (shutdown waits for the poll to notice).
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def new_response_url(self, channel: str | None = None) -> str:
        """A fresh response_url; in-channel posts to it appear in ``channel`` when one is given."""
        self._origin()
        return self._responses.new_url(channel)

    # -- configuration and fault injection -------------------------------------------------------

    def fail_channel(self, channel_id: str, error: str | None = "not_in_channel") -> None:
        """Make every call naming this channel fail with ``error``; ``error=None`` heals it."""
        self._api.fail_channel(channel_id, error)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After: retry_after``."""
        self._api.rate_limit(method, times, retry_after)

    def fail_method(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self._api.fail_method(method, error, times)

    def set_plan_upgrade_required(self, required: bool = True) -> None:
        """Make usergroups.users.list answer ``plan_upgrade_required`` (as on a free workspace)."""
        with self.lock:
            self._api.faults.plan_upgrade_required = required

    def set_usergroup(self, usergroup_id: str, user_ids: list[str]) -> None:
        """Create or replace a user group's members."""
        with self.lock:
            self._api.usergroups[usergroup_id] = list(user_ids)

    def set_user_name(self, user_id: str, name: str) -> None:
        """Give users.info a name to answer for this user."""
        with self.lock:
            self._api.users[user_id] = name

    def _origin(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started (call .start() or use it as a context manager)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
