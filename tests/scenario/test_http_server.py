"""HttpServer.close: stops waitress without racing its own threads, and leaves nothing behind; /healthz.

Waitress wakes its loop through a pipe (the "trigger") that request threads write to whenever they finish
or flush; a stop that closes that pipe while anything may still write to it fails with EBADF (or writes
into whatever reused the descriptor). These tests pin down the interleavings that broke the old stop.
"""

from __future__ import annotations

import gc
import http.client
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from rq import Queue, Worker

from bot.hooks import NOT_VERIFIED
from bot.server import HttpServer, make_wsgi
from dockbolt.core.contract import WORKER_FRESH
from tests.support.pipeline import QUEUE, Pipeline

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.scenario

HANG_GUARD = 30.0  # only so that a broken stop fails instead of hanging the suite; never a timing claim


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


class Gate:
    """A WSGI app that records which requests reached it and holds them until released."""

    def __init__(self) -> None:
        self.entered: set[str] = set()
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        with self._lock:
            self.entered.add(environ["PATH_INFO"])
        self.arrived.release()
        assert self.release.wait(HANG_GUARD)
        body = environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return iter([body])


def request(port: int, path: str) -> tuple[int, bytes] | BaseException:
    """GET ``path``; the answer, or the error the client saw."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return exc
    finally:
        conn.close()


def assert_port_free(port: int) -> None:
    """The listening socket is gone: the port can be bound again."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


@pytest.fixture
def ports() -> Iterator[list[int]]:
    """Ports of the servers a test starts; afterwards no new thread survives, every port is free and
    nothing unclosed is left for the GC to warn about (a ResourceWarning, which pytest makes an error)."""
    before = set(threading.enumerate())
    used: list[int] = []
    yield used
    for thread in set(threading.enumerate()) - before:
        # Waitress's request threads have left their loop when close() returns; give them the instant
        # they need to return from their function.
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), f"{thread.name} still running after close()"
    for port in used:
        assert_port_free(port)
    gc.collect()


def test_close_releases_port_thread_and_sockets(ports: list[int]) -> None:
    server = HttpServer(hello, port=0).start()
    port = server.port
    ports.append(port)
    assert request(port, "/") == (200, b"hello")
    idle = socket.create_connection(("127.0.0.1", port))  # a keep-alive connection nobody uses
    server.close()
    idle.settimeout(HANG_GUARD)
    try:
        assert idle.recv(1) == b""  # closed by the server
    except ConnectionResetError:
        pass  # or reset, when it was still in the listen backlog
    finally:
        idle.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port)).close()
    server.close()  # a second close is harmless


def test_close_without_start_and_after_serve_forever(ports: list[int]) -> None:
    never = HttpServer(hello, port=0)
    ports.append(never.port)
    never.close()
    foreground = HttpServer(hello, port=0)
    port = foreground.port
    ports.append(port)
    loop = threading.Thread(target=foreground.serve_forever)
    loop.start()
    assert request(port, "/") == (200, b"hello")
    foreground.close()
    loop.join(HANG_GUARD)
    assert not loop.is_alive()


def test_stop_is_safe_whenever_the_loop_runs_it(ports: list[int]) -> None:
    """The CI failure: the loop, woken by a request thread's pull, ran the stop callback queued by
    close() before close()'s own pull_trigger() had written its byte; the callback had closed the pipe,
    so that write failed with EBADF. Force exactly that order for every pull."""
    server = HttpServer(hello, port=0).start()
    port = server.port
    ports.append(port)
    trigger: Any = server._server.trigger  # white-box: the pipe that wakes waitress's loop
    physical_pull: Callable[[], None] = trigger._physical_pull

    def loop_runs_queued_callbacks_first() -> None:
        os.write(trigger.trigger, b"x")  # as if a request thread had just pulled: the loop wakes...
        deadline = time.monotonic() + HANG_GUARD
        while trigger.thunks and time.monotonic() < deadline:  # ...and runs what close() queued
            time.sleep(0.001)
        physical_pull()  # only now does pull_trigger() write its own byte

    trigger._physical_pull = loop_runs_queued_callbacks_first
    assert request(port, "/") == (200, b"hello")
    server.close()


@pytest.mark.parametrize("round_", range(40))
def test_close_with_requests_in_flight(
    round_: int, ports: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """close() while requests are being handled, queued and connecting: the ones that reached the app get
    their whole answer, the others a connection error, and neither close() nor a request thread fails
    (waitress logs a request thread's failure, e.g. EBADF from waking a loop that is gone)."""
    gate = Gate()
    server = HttpServer(gate, port=0, threads=3).start()
    port = server.port
    ports.append(port)
    outcomes: dict[str, tuple[int, bytes] | BaseException] = {}

    def client(path: str) -> None:
        outcomes[path] = request(port, path)

    clients = [threading.Thread(target=client, args=(f"/r{i}",)) for i in range(6)]
    for c in clients:
        c.start()
    assert gate.arrived.acquire(timeout=HANG_GUARD)  # at least one request is in the app
    errors: list[BaseException] = []

    def close() -> None:
        try:
            server.close()
        except BaseException as exc:
            errors.append(exc)

    closer = threading.Thread(target=close)
    closer.start()
    if round_ % 2:
        time.sleep(0.001 * (round_ % 7))  # vary where close() is when the requests finish
    gate.release.set()
    closer.join(HANG_GUARD)
    for c in clients:
        c.join(HANG_GUARD)
    assert not closer.is_alive() and errors == []
    for path in gate.entered:
        assert outcomes[path] == (200, path.encode()), f"{path} reached the app but got {outcomes[path]!r}"
    for path, outcome in outcomes.items():
        if path not in gate.entered:
            assert isinstance(outcome, OSError | http.client.HTTPException), f"{path}: {outcome!r}"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []



# /healthz: Redis, and a live RQ worker (heartbeat within WORKER_FRESH s, Redis's clock) on every queue.

def registered_worker(redis: Redis, queue: str, name: str) -> Worker:
    """A worker record as RQ writes it at a worker's start (``register_birth``), without a process."""
    worker = Worker([Queue(queue, connection=redis)], connection=redis, name=name)
    worker.register_birth()  # type: ignore[no-untyped-call]
    return worker


def healthz(port: int) -> tuple[int, object]:
    answer = request(port, "/healthz")
    assert not isinstance(answer, BaseException), answer
    return answer[0], json.loads(answer[1])


def test_healthz_needs_a_live_worker_on_the_queue(pipeline: Pipeline) -> None:
    assert pipeline.bot.server is not None
    port, redis = pipeline.bot.server.port, pipeline.redis
    idle = {"ok": False, "redis": True, "queues": {QUEUE: {"workers": 0}}}
    assert healthz(port) == (503, idle)
    elsewhere = registered_worker(redis, "another-queue", "probe-elsewhere")
    assert healthz(port) == (503, idle)
    worker = registered_worker(redis, QUEUE, "probe-serving")
    assert healthz(port) == (200, {"ok": True, "redis": True, "queues": {QUEUE: {"workers": 1}}})
    assert redis.ttl(worker.key) > 0  # the lease each beat renews
    redis.delete(worker.key)  # a worker that stopped beating: Redis expired its record
    assert healthz(port) == (503, idle)
    worker.last_heartbeat = None
    redis.hset(worker.key, "last_heartbeat", "2001-01-01T00:00:00.000000Z")  # a clock far behind…
    redis.expire(worker.key, WORKER_FRESH)  # …on a worker that does beat
    assert healthz(port)[0] == 200
    redis.delete(worker.key)
    worker.heartbeat()
    assert healthz(port)[0] == 200
    worker.register_death()  # type: ignore[no-untyped-call]  # a worker that stopped (SIGTERM)
    elsewhere.register_death()  # type: ignore[no-untyped-call]
    assert healthz(port) == (503, idle)


def test_healthz_without_redis(pipeline: Pipeline, ports: list[int]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    unreachable = Redis(host="127.0.0.1", port=closed, socket_connect_timeout=HANG_GUARD)
    server = HttpServer(make_wsgi(pipeline.bot.app, unreachable), port=0).start()
    ports.append(server.port)
    try:
        assert healthz(server.port) == (503, {"ok": False, "redis": False})
    finally:
        server.close()
        unreachable.close()


def test_in_socket_mode_the_port_serves_healthz_and_the_webhook_but_no_slack_events(
        pipeline: Pipeline, ports: list[int]) -> None:
    # What `dockbolt bot` serves on --port in Socket Mode: no Bolt app behind it (Bolt there skips the
    # request signature: Socket Mode needs none), the deploy hook and /healthz still answered.
    server = HttpServer(make_wsgi(None, pipeline.redis, hook=pipeline.bot.hook), port=0).start()
    ports.append(server.port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HANG_GUARD)
        conn.request("POST", "/slack/events", body=b"command=%2Fdocker&text=ps&user_id=UADMIN",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == (404, {"error": "not found"})
        conn.request("POST", "/hooks/deploy", body=b'{"app": "nope", "ref": "v1"}',
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == (401, {"error": NOT_VERIFIED})
        conn.close()
        assert healthz(server.port)[0] == 503  # answered (no worker in this pipeline)
    finally:
        server.close()
