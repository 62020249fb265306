"""The worker negotiates the engine's API version as the docker CLI does: from the ``Api-Version`` header
of ``/_ping`` (one cheap request), asking ``/version`` only of an engine whose ping has no such header
(API < 1.25); the client then speaks that version. Against a loopback HTTP server that answers like an
engine (no engine is started or touched)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockbolt.core.errors import DockerUnavailable
from workers import docker_engine


class Engine(ThreadingHTTPServer):
    """Answers /_ping (with ``header`` as Api-Version, or none), /version and the container list."""

    def __init__(self, header: str | None, ping_status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.header, self.ping_status = header, ping_status
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Engine

    def do_GET(self) -> None:
        self.server.paths.append(self.path.split("?")[0])
        if self.path == "/_ping":
            body, status = b"OK", self.server.ping_status
            headers = {"Api-Version": self.server.header} if self.server.header else {}
        elif self.path == "/version":
            body, status, headers = json.dumps({"ApiVersion": "1.24"}).encode(), 200, {}
        else:
            body, status, headers = b"[]", 200, {}
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serving(header: str | None, ping_status: int = 200) -> Iterator[Engine]:
    engine = Engine(header, ping_status)
    threading.Thread(target=engine.serve_forever, daemon=True).start()
    try:
        yield engine
    finally:
        engine.shutdown()
        engine.server_close()


@pytest.fixture
def modern() -> Iterator[Engine]:
    yield from serving("1.43")


@pytest.fixture
def old() -> Iterator[Engine]:
    yield from serving(None)


def test_the_version_comes_from_the_ping_and_version_is_never_asked(modern: Engine) -> None:
    port = docker_engine.connect(modern.url)
    try:
        assert port.list_containers() == []
    finally:
        port.close()
    assert modern.paths == ["/_ping", "/v1.43/containers/json"]


def test_an_engine_whose_ping_has_no_version_is_asked_its_version(old: Engine) -> None:
    port = docker_engine.connect(old.url)
    try:
        port.list_containers()
    finally:
        port.close()
    assert old.paths == ["/_ping", "/version", "/v1.24/containers/json"]


def test_an_engine_whose_ping_fails_is_unreachable_in_words() -> None:
    for engine in serving("1.43", ping_status=500):
        with pytest.raises(DockerUnavailable, match=r"Cannot reach the Docker engine at tcp://127\.0\.0\.1"):
            docker_engine.connect(engine.url)
        assert engine.paths == ["/_ping"]
