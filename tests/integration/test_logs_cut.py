"""A log stream that ends without the engine's clean end is reported as cut short, with what arrived.

The real engine behind a real unix-socket proxy that passes everything through, except that the response
to a logs request is cut after CUT_AFTER bytes: the connection closed (as when the engine or the link
goes away) or left open and silent (a read timeout; the port is built with a 1 s client timeout).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockbolt.core.args import LogsArgs
from dockbolt.core.contract import JobRequest, new_job_id
from workers.docker_engine import connect
from workers.docker_port import DockerPort, LogStreamCut
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext

LINES = 200_000  # ~1.3 MB: the whole log fits in what the handler keeps (2 MiB)
CUT_AFTER = 300_000  # bytes of the logs response


class CuttingProxy:
    """Listens on ``path`` and relays to the engine's socket; a logs response is cut after ``cut_after``
    bytes (``mode`` "close": both sides closed; "hang": nothing more is relayed), or never (None)."""

    def __init__(self, upstream: str, path: str, cut_after: int | None, mode: str = "close") -> None:
        self.upstream, self.path, self.cut_after, self.mode = upstream, path, cut_after, mode
        self.cuts = 0
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(self.upstream)
            self._socks += [client, up]
            is_logs = threading.Event()
            threading.Thread(target=self._requests, args=(client, up, is_logs), daemon=True).start()
            threading.Thread(target=self._responses, args=(up, client, is_logs), daemon=True).start()

    def _requests(self, client: socket.socket, up: socket.socket, is_logs: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if b"/logs?" in data:
                    is_logs.set()  # before relaying: the response may come at once
                up.sendall(data)

    def _responses(self, up: socket.socket, client: socket.socket, is_logs: threading.Event) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := up.recv(65536):
                if is_logs.is_set() and self.cut_after is not None and sent + len(data) > self.cut_after:
                    client.sendall(data[: self.cut_after - sent])
                    self.cuts += 1
                    if self.mode == "hang":
                        self._stop.wait()
                    break
                client.sendall(data)
                sent += len(data) if is_logs.is_set() else 0
        for s in (client, up):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        for s in [self._server, *self._socks]:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture
def counted(docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str],
            docker_cleanup: None) -> str:
    """An exited container whose log is the numbers 1..LINES, one a line."""
    c = docker_client.containers.run(test_image, ["seq", "1", str(LINES)], detach=True, labels=run_labels)
    c.wait()
    return str(c.id)


@contextlib.contextmanager
def _proxied(
    docker_host: str, tmp_path: Path, cut_after: int | None, mode: str
) -> Iterator[tuple[DockerPort, CuttingProxy]]:
    if not docker_host.startswith("unix://"):
        pytest.skip("the cutting proxy sits in front of a unix socket")
    proxy = CuttingProxy(docker_host.removeprefix("unix://"), str(tmp_path / "engine.sock"), cut_after, mode)
    port = connect(f"unix://{proxy.path}", timeout=1)
    try:
        yield port, proxy
    finally:
        port.close()
        proxy.close()


def _logs(port: DockerPort, name: str) -> tuple[bool, str, str]:
    job = JobRequest(job_id=new_job_id(), verb="logs", args={}, user_id="U1", channel_id="C1",
                     command_text="logs")
    reply = HANDLERS["logs"].run(HandlerContext(job=job, docker=port, progress=lambda _: None),
                                 LogsArgs(name=name))
    return reply.ok, reply.text, reply.body or ""


@pytest.mark.parametrize(("mode", "reason"), [("close", ""), ("hang", "timed out")])
def test_a_cut_stream_is_reported_as_cut_short_with_what_arrived(
    counted: str, docker_host: str, tmp_path: Path, mode: str, reason: str
) -> None:
    with _proxied(docker_host, tmp_path, CUT_AFTER, mode) as (port, proxy):
        ok, text, body = _logs(port, counted[:12])
        assert proxy.cuts == 1
        lines = body.splitlines()
        assert 0 < len(lines) < LINES
        assert lines == [str(i) for i in range(1, len(lines) + 1)]  # what arrived, whole lines, in order
        assert not ok  # the card says failed: the log asked for did not all arrive
        assert f"cut short after {len(lines)} lines" in text
        assert reason in text


def test_the_proxy_alone_changes_nothing(counted: str, docker_host: str, tmp_path: Path) -> None:
    with _proxied(docker_host, tmp_path, None, "close") as (port, proxy):
        ok, text, body = _logs(port, counted[:12])
        assert proxy.cuts == 0
        assert ok, text
        assert body.splitlines() == [str(i) for i in range(1, LINES + 1)]
        assert "cut short" not in text


def test_the_port_raises_with_what_arrived(counted: str, docker_host: str, tmp_path: Path) -> None:
    with _proxied(docker_host, tmp_path, CUT_AFTER, "close") as (port, _):
        with pytest.raises(LogStreamCut) as cut:
            port.logs(counted, max_bytes=1 << 20)
        assert cut.value.data.startswith(b"1\n2\n3\n")
        assert len(cut.value.data) < CUT_AFTER


def test_a_cut_after_the_newest_part_is_kept_still_counts(
    counted: str, docker_host: str, tmp_path: Path
) -> None:
    """Only the newest max_bytes are kept, yet the cut is still told (it is not an "older output cut")."""
    with _proxied(docker_host, tmp_path, CUT_AFTER, "close") as (port, _):
        with pytest.raises(LogStreamCut) as cut:
            port.logs(counted, max_bytes=100)
        assert 0 < len(cut.value.data) <= 100


def test_a_tty_containers_raw_stream_is_read_whole_or_reported_cut(
    docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str], docker_cleanup: None,
    docker_host: str, tmp_path: Path
) -> None:
    """A tty container's log is not framed: only the response's own end tells it is whole."""
    c = docker_client.containers.run(test_image, ["seq", "1", str(LINES)], detach=True, tty=True,
                                     labels=run_labels)
    c.wait()
    whole = [str(i).encode() for i in range(1, LINES + 1)]
    with _proxied(docker_host, tmp_path, None, "close") as (port, _):
        assert port.logs(str(c.id), max_bytes=1 << 22).splitlines() == whole
    (tmp_path / "cut").mkdir()
    with _proxied(docker_host, tmp_path / "cut", CUT_AFTER, "close") as (port, _):
        with pytest.raises(LogStreamCut) as cut:
            port.logs(str(c.id), max_bytes=1 << 22)
        arrived = cut.value.data.splitlines()
        assert 0 < len(arrived) < LINES and arrived[:-1] == whole[: len(arrived) - 1]
