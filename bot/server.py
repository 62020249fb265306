"""HTTP mode: the Bolt app behind waitress (a production WSGI server), plus ``GET /healthz``.

``/healthz`` answers 200 only when Redis answers and some Docker host's queue has a live RQ worker (its
record, which each heartbeat renews for WORKER_FRESH s, not expired: Redis's clock), 503 otherwise; the JSON
body lists every registered host's queue (``{"ok": …, "redis": …, "queues": {name: {"workers": n}}}``).

Before Bolt sees a request, ``refusal`` turns away what it would read whole or answer with a 500: a body
over MAX_BODY (413; waitress refuses it too, before reading it), a timestamp or signature header that is
not ASCII digits / ASCII (401, Bolt's own answer to a bad signature), a body that is not UTF-8 (400). Every
4xx answer is logged as one short line, never with the body.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

from redis import Redis
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from bot.liveness import health

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HOOK_PATH = "/hooks/deploy"  # bot.hooks: CI's signed deploy requests
DRAIN_SECONDS = 10  # how long close() lets requests already being handled finish
MAX_BODY = 64 * 1024  # bytes; a slash command with 4,000 characters of text, all %-encoded, is ~13 KiB
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_UNAUTHORIZED = "401 Unauthorized", "invalid request"  # as Bolt answers a bad signature
# A worker is live while its last RQ heartbeat is at most this old (Redis server time): workers.main's
# WORKER_TTL + 60, the lease RQ gives a worker's record (an idle worker beats every 2 s, a busy one 30 s).


def refusal(environ: WSGIEnvironment) -> tuple[str, str] | None:
    """(status, error) for a request refused before Bolt, or None; then ``wsgi.input`` holds the body read.

    Bolt would decode the body strictly and pass the timestamp to ``int()`` (a 500 with a traceback for a
    non-UTF-8 body or a timestamp like "abc"); non-ASCII signatures fail its ``hmac.compare_digest``.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "bad Content-Length"
    if length > MAX_BODY:
        return "413 Request Entity Too Large", f"body over {MAX_BODY} bytes"
    if environ.get("PATH_INFO") != EVENTS_PATH or environ.get("REQUEST_METHOD") != "POST":
        return None
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
        return _UNAUTHORIZED
    if signature is not None and not (signature.isascii() and signature.isprintable()):
        return _UNAUTHORIZED
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "400 Bad Request", "body is not UTF-8"
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return None


def _logging_refusals(environ: WSGIEnvironment, start_response: StartResponse) -> StartResponse:
    """``start_response`` that logs a 4xx answer as one line: what, from where, how big (never the body)."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        if status.startswith("4"):
            log.info("refused %s %s (%s): %s bytes from %s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), status, environ.get("CONTENT_LENGTH") or 0,
                     environ.get("REMOTE_ADDR"))
        return start_response(status, headers, exc_info)

    return start


Wsgi = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def make_wsgi(app: App | None, redis: Redis, hook: Wsgi | None = None) -> Wsgi:
    """Return the WSGI callable: Slack events to Bolt (``app`` None, in Socket Mode: 404), /healthz
    answered here (503 unless ``health``), POST /hooks/deploy to ``hook`` (404 without one)."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response = _logging_refusals(environ, start_response)
        refused = refusal(environ)
        if refused is not None:
            body = json.dumps({"error": refused[1]}).encode()
            start_response(refused[0], [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            ok, report = health(redis)
            body = json.dumps(report).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == HOOK_PATH and hook is not None:
            return hook(environ, start_response)
        if slack is None or environ.get("PATH_INFO") != EVENTS_PATH:
            body = json.dumps({"error": "not found"}).encode()
            start_response("404 Not Found", [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


class _Trigger(Protocol):
    """The pipe that wakes waitress's loop (waitress's stubs type it as an int)."""

    def pull_trigger(self, thunk: Callable[[], object] | None = None) -> None: ...
    def del_channel(self) -> None: ...
    def close(self) -> None: ...


class HttpServer:
    """A waitress server on (host, port); port 0 picks a free port. Runs in a thread or in the foreground.

    ``close()`` stops it in an order that cannot race waitress's own threads: (1) the loop closes the
    listening socket (the port is free, new connections are refused); (2) the request threads finish —
    meanwhile the loop keeps sending their answers and they keep waking it through the trigger pipe;
    (3) the loop closes the remaining connections and drops the trigger from its socket map, which ends
    the loop; (4) the pipe is closed once the loop has ended and no request thread is left to write to it.
    """

    def __init__(self, wsgi: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]],
                 host: str = "127.0.0.1", port: int = 3000, threads: int = 8) -> None:
        # Waitress refuses a body of max_request_body_size bytes or more as soon as Content-Length (or a
        # chunked body) says so, without reading the rest.
        server = create_server(wsgi, host=host, port=port, threads=threads, ident="dockbolt",
                               clear_untrusted_proxy_headers=True, max_request_body_size=MAX_BODY + 1)
        if not isinstance(server, BaseWSGIServer):  # the host name resolved to several addresses
            server.close()
            raise ValueError(f"host {host!r} resolves to several addresses; give one address to bind")
        self._server = server
        # Waitress has no stop of its own (its maintainers point to webtest's StopableWSGIServer), so the
        # steps above use its internals: the trigger, whose callbacks run inside the loop (only the loop
        # may touch its sockets; a callback must never close the pipe that delivered it, because
        # pull_trigger() queues the callback *before* writing its wake-up byte and a loop woken by another
        # thread can run it first: the old EBADF); the connection registry ``active_channels``; the
        # listener's plain dispatcher close (``BaseWSGIServer.close`` would close the trigger too); and
        # the task dispatcher's ``threads`` set, empty once no request thread can write to the pipe.
        self._trigger = cast(_Trigger, server.trigger)
        self._channels = cast("dict[int, HTTPChannel]", server.active_channels)
        self._loop: threading.Thread | None = None  # the thread running waitress's loop, once serving
        self._own_thread = False
        self._loop_done = threading.Event()
        self._close_lock = threading.Lock()
        self._closed = False

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.effective_port)  # type: ignore[attr-defined]  # missing from the stubs

    @property
    def url(self) -> str:
        """The Slack events URL of this server."""
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        """Serve in the calling thread until closed from another thread or interrupted (Ctrl-C)."""
        self._loop = threading.current_thread()
        try:
            self._run()
        finally:
            self.close()

    def start(self) -> HttpServer:
        """Serve in a daemon thread."""
        self._loop = threading.Thread(target=self._run, name="dockbolt-http", daemon=True)
        self._own_thread = True
        self._loop.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port, the threads and every socket; a second call does nothing.

        Requests already being handled finish (up to DRAIN_SECONDS); call it from any thread but the one
        serving.
        """
        with self._close_lock:
            if self._closed:
                return
            loop_running = self._loop is not None and not self._loop_done.is_set()
            if loop_running and self._loop is threading.current_thread():
                raise RuntimeError("HttpServer.close() called from the serving thread")
            self._closed = True
            dispatcher = self._server.task_dispatcher
            if loop_running:
                self._in_loop(self._close_listener)
                dispatcher.shutdown(timeout=DRAIN_SECONDS)
                self._in_loop(self._end_loop)
                self._loop_done.wait()
                if self._own_thread and self._loop is not None:
                    self._loop.join()
            else:  # never served, or interrupted: no loop runs, nothing else touches the sockets
                dispatcher.shutdown(timeout=DRAIN_SECONDS)
                self._close_listener()
                self._close_connections()
            if dispatcher.threads:
                log.warning("%d request thread(s) still busy after %d s; leaving their wake-up pipe open",
                            len(dispatcher.threads), DRAIN_SECONDS)
            else:
                self._trigger.close()

    def _run(self) -> None:
        try:
            self._server.run()
        finally:
            self._loop_done.set()

    def _in_loop(self, step: Callable[[], None]) -> None:
        """Run ``step`` in the loop's thread and wait for it (or run it here if the loop has died)."""
        ran = threading.Event()

        def callback() -> None:
            try:
                step()
            finally:
                ran.set()

        self._trigger.pull_trigger(callback)
        while not ran.wait(0.05):
            if self._loop_done.is_set() and not ran.is_set():
                step()
                return

    def _close_listener(self) -> None:
        wasyncore.dispatcher.close(self._server)

    def _close_connections(self) -> None:
        for channel in list(self._channels.values()):
            channel.will_close = True  # handle_write sends what the socket takes now, then closes
            try:
                channel.handle_write()
            finally:
                channel.handle_close()  # a no-op when already closed; covers a failed write

    def _end_loop(self) -> None:
        try:
            self._close_connections()
        finally:
            self._trigger.del_channel()  # an empty socket map ends the loop; the pipe is closed after it
