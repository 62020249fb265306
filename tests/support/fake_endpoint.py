"""A stand-in for the bot's HTTP endpoint in console unit tests: a loopback server handing each POST to a
function (the test's fake bot) that returns (HTTP status, body)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handle = Callable[[dict[str, str], bytes], tuple[int, bytes]]


@contextmanager
def serving(handle: Handle) -> Iterator[str]:
    """Serve ``handle`` (lower-cased headers, raw body) on 127.0.0.1; yields the request URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            status, answer = handle({k.lower(): v for k, v in self.headers.items()}, raw)
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if answer.startswith(b"{") else "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
