"""Slack's Socket Mode on 127.0.0.1: the websocket ``apps.connections.open`` points an app at.

``new_url`` (the answer to apps.connections.open, once the Web API checked the ``xapp-`` token) hands out
a one-time ``ws://127.0.0.1:PORT/link/?ticket=…``. A connection opened with it gets ``hello``, then the
envelopes delivered here (``slash_command``, ``button``/``click``, ``deliver``), always on the newest open
connection; every ack read back is recorded (``Ack``: what it said, how long it took, on which
connection). ``disconnect`` sends Slack's notice; the app is expected to call apps.connections.open
again, connect, and close the old connection itself. ``drop`` closes the newest one as a network or
Slack restart would.

Threads: websockets' sync server accepts in a daemon thread and runs each connection in a thread of its
own; one Condition guards the records, and every change (connection, ack) notifies the waiters.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from typing import Any, TypeVar, Unpack
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from dockbolt.console.slash_client import APP_ID, SlashFields
from dockbolt.console.standin import socket_messages as messages
from dockbolt.console.standin.events import app_home_opened, event_callback
from dockbolt.console.standin.socket_messages import Ack, SocketLink

T = TypeVar("T")
log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class SocketMode:
    """The Socket Mode server of the stand-in, for the app whose app-level token is ``app_token``."""

    def __init__(self, app_token: str) -> None:
        self.app_token = app_token
        self._changed = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._links: list[SocketLink] = []
        self._sockets: dict[int, ServerConnection] = {}
        self._sent: dict[str, tuple[str, float]] = {}  # envelope id → (type, monotonic time sent)
        self._acks: list[Ack] = []

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1, accepting in a daemon thread."""
        if self._server is None:
            self._server = serve(self._handle, HOST, 0, process_request=self._check_ticket,
                                 compression=None, logger=log)
            self._thread = threading.Thread(target=self._server.serve_forever, name="slack-standin-socket",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop listening and close every connection (code 1001, going away); the records are kept."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()  # waits for every connection's thread
        if thread is not None:
            thread.join()

    def new_url(self) -> str:
        """A fresh one-time websocket URL (what apps.connections.open answers)."""
        if self._server is None:
            raise RuntimeError("Socket Mode is not started")
        port = self._server.socket.getsockname()[1]
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets.add(ticket)
        return f"ws://{HOST}:{port}/link/?ticket={ticket}&app_id={APP_ID}"

    # -- what happened -----------------------------------------------------------------------------

    @property
    def links(self) -> list[SocketLink]:
        """Every connection so far, in the order they were opened."""
        with self._changed:
            return list(self._links)

    @property
    def acks(self) -> list[Ack]:
        """Every ack read back so far, in order."""
        with self._changed:
            return list(self._acks)

    def wait_connected(self, number: int = 1, timeout: float = 30) -> SocketLink:
        """Wait until connection ``number`` (1: the first) is open (``hello`` sent) and return it."""
        return self._wait(lambda: next((k for k in self._links if k.number == number and k.open), None),
                          timeout, f"connection {number} open")

    def wait_closed(self, number: int, timeout: float = 30) -> SocketLink:
        """Wait until connection ``number`` is closed and return it."""
        return self._wait(lambda: next((k for k in self._links if k.number == number and not k.open), None),
                          timeout, f"connection {number} closed")

    def wait_ack(self, envelope_id: str, timeout: float = 30) -> Ack:
        """Wait for the ack of the envelope ``envelope_id`` (the first one, should it come twice)."""
        return self._wait(lambda: next((a for a in self._acks if a.envelope_id == envelope_id), None),
                          timeout, f"an ack of envelope {envelope_id}")

    # -- what Slack does ---------------------------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> str:
        """Send one envelope on the newest open connection; returns its envelope id."""
        message = messages.envelope(kind, payload, accepts_response_payload=accepts_response_payload)
        with self._changed:
            ws = self._newest()[1]
            self._sent[message["envelope_id"]] = (kind, time.monotonic())
        ws.send(json.dumps(message))
        return str(message["envelope_id"])

    def deliver(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool,
                timeout: float = 30) -> Ack:
        """Send one envelope and wait for its ack."""
        envelope_id = self.send(kind, payload, accepts_response_payload=accepts_response_payload)
        return self.wait_ack(envelope_id, timeout)

    def slash_command(self, text: str, *, user_id: str, channel_id: str, timeout: float = 30,
                      **fields: Unpack[SlashFields]) -> Ack:
        """Deliver a slash command (``/docker`` unless ``command`` says) and wait for its ack."""
        payload = messages.slash_command(text, user_id=user_id, channel_id=channel_id, **fields)
        return self.deliver("slash_commands", payload, accepts_response_payload=True, timeout=timeout)

    def button(self, *, action_id: str, value: str, user_id: str, channel_id: str, message_ts: str,
               response_url: str = "", timeout: float = 30) -> Ack:
        """Deliver a click on the button ``action_id`` of message ``message_ts``; wait for its ack."""
        payload = messages.block_actions(action_id=action_id, value=value, user_id=user_id,
                                         channel_id=channel_id, message_ts=message_ts,
                                         response_url=response_url)
        return self.click(payload, timeout=timeout)

    def click(self, payload: dict[str, Any], *, timeout: float = 30) -> Ack:
        """Deliver an interaction payload (``dockbolt.console.block_actions``) in an ``interactive``
        envelope, as Slack does in Socket Mode, and wait for its ack."""
        return self.deliver("interactive", payload, accepts_response_payload=False, timeout=timeout)

    def app_home_opened(self, user_id: str, *, tab: str = "home", timeout: float = 30) -> Ack:
        """Deliver the event ``app_home_opened`` in an ``events_api`` envelope; wait for its ack."""
        payload = event_callback(app_home_opened(user_id, tab=tab))
        return self.deliver("events_api", payload, accepts_response_payload=False, timeout=timeout)

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Tell the newest connection it is going away; returns its number."""
        with self._changed:
            number, ws = self._newest()
        ws.send(json.dumps(messages.disconnect(reason)))
        return number

    def drop(self) -> int:
        """Close the newest connection (1001, going away) without notice; returns its number."""
        with self._changed:
            number, ws = self._newest()
        ws.close(1001, "going away")
        return number

    # -- internals ---------------------------------------------------------------------------------

    def _newest(self) -> tuple[int, ServerConnection]:
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection is open")
        number = max(self._sockets)
        return number, self._sockets[number]

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = dict(parse_qsl(urlsplit(request.path).query)).get("ticket", "")
        with self._changed:
            if ticket in self._tickets:
                self._tickets.discard(ticket)  # one connection per apps.connections.open, as Slack
                return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")

    def _handle(self, ws: ServerConnection) -> None:
        with self._changed:
            opened = len(self._sockets) + 1
        try:
            ws.send(json.dumps(messages.hello(opened)))
        except ConnectionClosed:
            return
        with self._changed:
            number = len(self._links) + 1
            self._links.append(SocketLink(number, time.time()))
            self._sockets[number] = ws
            self._changed.notify_all()
        try:
            for raw in ws:
                self._read(number, raw)
        except ConnectionClosed:
            pass  # the app closed the socket without a close frame (slack_sdk's built-in client does)
        finally:
            with self._changed:
                del self._sockets[number]
                self._links[number - 1] = replace(self._links[number - 1], closed_at=time.time())
                self._changed.notify_all()

    def _read(self, number: int, raw: str | bytes) -> None:
        received = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            log.warning("stand-in: connection %d sent something that is not an ack: %.200r", number, raw)
            return
        payload = message.get("payload")
        with self._changed:
            kind, sent = self._sent.get(message["envelope_id"], ("", received))
            payload = payload if isinstance(payload, dict) else None
            self._acks.append(Ack(message["envelope_id"], kind, payload, received - sent, number))
            self._changed.notify_all()

    def _wait(self, found: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        with self._changed:
            while (value := found()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"stand-in Socket Mode: {what} not seen within {timeout} s; "
                                       f"connections {self._links}, acks {self._acks[-5:]}")
                self._changed.wait(remaining)
            return value
