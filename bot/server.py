"""HTTP mode: the Bolt app behind waitress (a production WSGI server), plus ``GET /healthz``."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def make_wsgi(app: App, redis: Redis) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """Return the WSGI callable: Slack events to Bolt, /healthz answered here."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                redis_ok = bool(redis.ping())
            except RedisError:
                redis_ok = False
            body = json.dumps({"ok": redis_ok, "redis": redis_ok}).encode()
            status = "200 OK" if redis_ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


class HttpServer:
    """A waitress server on (host, port); port 0 picks a free port. Runs in a thread or in the foreground."""

    def __init__(self, wsgi: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]],
                 host: str = "127.0.0.1", port: int = 3000, threads: int = 8) -> None:
        self._server = create_server(wsgi, host=host, port=port, threads=threads, ident="dockbolt",
                                     clear_untrusted_proxy_headers=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.effective_port)  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        """The Slack events URL of this server."""
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        """Serve in the calling thread until closed."""
        self._server.run()

    def start(self) -> HttpServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.run, name="dockbolt-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port, from inside the server's own loop.

        Closing the listening socket from another thread while the loop polls it kills the loop with
        EBADF; waitress's trigger runs the close in the loop thread, which then ends cleanly.
        """
        server = self._server
        if self._thread is None:
            server.close()
            return

        def close_all() -> None:
            for channel in list(server._map.values()):  # type: ignore[union-attr]
                channel.close()

        server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown()
