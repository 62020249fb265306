"""A local stand-in for the Slack Web API: what the console of ``dockbolt up`` runs the pipeline against.

Speaks the Web API the way slack_sdk's ``WebClient(base_url=standin.base_url)`` and ``WebhookClient``
use it, enforces Slack's message limits and records everything (thread-safe queries, ``wait_for``,
``subscribe``). ``intercept`` registers a hook that may answer a call first (tests build Slack's
failures on it: rate limits, refused channels, API errors).

Implementation lives in ``dockbolt.console.standin``: ``models`` (records), ``limits`` (Slack's rules),
``state`` (recording, waiting, events), ``api``/``chat``/``files`` (methods), ``response_urls``, ``http``,
``socket_mode`` (with an app-level token: apps.connections.open and the websocket Slack delivers over),
``views`` (views.publish: the Home tab, ``home_view``) and ``events`` (Events API deliveries: the signed
HTTP POST of ``EventsClient``, or ``SocketMode.app_home_opened``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from dockbolt.console.standin.api import BOT_USER_ID, ApiAnswer, Hook, WebApi
from dockbolt.console.standin.events import EventsClient
from dockbolt.console.standin.http import StandInServer
from dockbolt.console.standin.models import (
    Call,
    Ephemeral,
    HomeView,
    Message,
    ResponsePost,
    StandInEvent,
    UploadedFile,
)
from dockbolt.console.standin.response_urls import ResponseUrls
from dockbolt.console.standin.socket_messages import Ack, SocketLink
from dockbolt.console.standin.socket_mode import SocketMode
from dockbolt.console.standin.state import StandInState

__all__ = [
    "Ack",
    "ApiAnswer",
    "Call",
    "Ephemeral",
    "EventsClient",
    "HomeView",
    "Hook",
    "Message",
    "ResponsePost",
    "SlackStandIn",
    "SocketLink",
    "SocketMode",
    "StandInEvent",
    "UploadedFile",
]


class SlackStandIn(StandInState):
    """The Slack Web API on 127.0.0.1 (port chosen by the OS), recording what it is asked to do.

    Only ``token`` authenticates; ``usergroups`` answers usergroups.users.list (group id → member ids).
    With ``app_token`` (``xapp-…``) it also plays Socket Mode: ``socket_mode`` delivers over the websocket.
    """

    def __init__(self, token: str, usergroups: dict[str, list[str]] | None = None,
                 app_token: str | None = None) -> None:
        super().__init__()
        self.token = token
        self.bot_user_id = BOT_USER_ID
        self._api = WebApi(self, token, usergroups)
        self._socket = SocketMode(app_token) if app_token else None
        self._api.socket = self._socket
        self._responses = ResponseUrls(self, BOT_USER_ID)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The Web API base URL to give ``WebClient(base_url=…)`` ("http://127.0.0.1:PORT/api/")."""
        return f"{self._origin()}/api/"

    def start(self, port: int = 0) -> SlackStandIn:
        """Bind ``port`` (0: a free one) and serve in a daemon thread. Tests play a Slack that is down by
        ``stop`` (connections are refused) and ``start(port)`` again; what it recorded is kept."""
        if self._server is None:
            self._server = StandInServer(self._api, self._responses, port)
            self._api.origin = self._responses.origin = self._origin()
            # A short poll interval keeps stop() quick (shutdown waits for the poll to notice).
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
            )
            self._thread.start()
            if self._socket is not None:
                self._socket.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if self._socket is not None:
            self._socket.stop()
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

    @property
    def socket_mode(self) -> SocketMode:
        """Socket Mode: deliver slash commands and clicks over the app's websocket, read the acks."""
        if self._socket is None:
            raise RuntimeError("SlackStandIn has no Socket Mode (give it an app_token)")
        return self._socket

    @property
    def port(self) -> int:
        """The port it serves on."""
        return int(self._origin().rsplit(":", 1)[1])

    def new_response_url(self, channel: str | None = None, original_ts: str | None = None) -> str:
        """A fresh response_url; in-channel posts to it appear in ``channel`` when one is given (for a click
        on a message there, ``original_ts`` names it: ``replace_original`` edits it)."""
        self._origin()
        return self._responses.new_url(channel, original_ts)

    def intercept(self, hook: Hook) -> Callable[[], None]:
        """Consult ``hook(method, params)`` before every authenticated Web API call, in registration order.

        An ``ApiAnswer`` it returns is sent (and recorded) instead of the method's own answer; None lets
        the call through. The hook runs on a server thread and must not change ``params``. Returns a
        function that removes the hook.
        """
        with self.lock:
            self._api.hooks.append(hook)

        def remove() -> None:
            with self.lock:
                if hook in self._api.hooks:
                    self._api.hooks.remove(hook)

        return remove

    def _origin(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started (call .start() or use it as a context manager)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
