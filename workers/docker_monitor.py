"""The watcher's edge to the engine: the event stream and one-shot stats, over the same SDK client.

``EngineMonitor`` is a ``DockerEngine`` (same error translation, listing, inspect and logs) plus what only
the watcher needs, over a client from ``workers.docker_connect``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests.exceptions
import urllib3.exceptions

from dockbolt.core.errors import DockerUnavailable, TargetNotFound
from dockbolt.core.settings import DockerTLS
from workers.docker_connect import DEFAULT_DOCKER_HOST, client_for
from workers.docker_connect import reason as _reason
from workers.docker_engine import DockerEngine, close_stream

# The container events the watcher acts on (the engine sends others too: exec_*, attach, …).
EVENTS = ("die", "oom", "health_status", "restart", "start", "kill", "destroy", "stop")
READ_TIMEOUT = 30  # seconds a silent event stream may stay open before it is opened again


class EngineMonitor(DockerEngine):
    """A ``DockerEngine`` that also follows events and takes cheap stats samples."""

    _stream: Any = None  # the open event stream (the SDK's CancellableStream), for ``interrupt``
    _interrupted = False

    def host_name(self) -> str:
        """The engine's host name (``docker info``'s Name): the ``host`` label of every series."""
        return str(self.info().get("Name") or "docker")

    def info(self) -> dict[str, Any]:
        """``docker info``."""
        with self._edge():
            return dict(self._api.info())

    def events(self, since: float, until: float | None = None) -> Iterator[dict[str, Any]]:
        """Container events from ``since`` (unix seconds, fractions kept) on, decoded, oldest first.

        Ends when the stream ends or goes silent for ``READ_TIMEOUT`` (the caller opens it again with
        ``since`` = the last event it handled); ``DockerUnavailable`` when the engine cannot be reached.
        """
        params: dict[str, Any] = {"since": f"{since:.9f}",
                                  "filters": {"type": ["container"], "event": list(EVENTS)}}
        if until is not None:
            params["until"] = f"{until:.9f}"
        try:
            with self._edge():
                stream = self._api.events(decode=True, **params)
            self._stream = stream
            if self._interrupted:  # stopped while it was being opened
                close_stream(stream)
            try:
                yield from stream
            finally:
                self._stream = None
                close_stream(stream)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise DockerUnavailable(f"event stream from {self.host} cut: {_reason(exc)}") from exc

    def interrupt(self) -> None:
        """End the open ``events`` stream, and any opened from now on, at once (from another thread): its
        reader sees the stream end instead of waiting for the next event or the read timeout."""
        self._interrupted = True
        stream = self._stream
        if stream is not None:
            close_stream(stream)

    def stats_once(self, container_id: str) -> dict[str, Any]:
        """One reading without the engine's second one (``one_shot``): ``precpu_stats`` is empty, so CPU %
        needs the caller's previous reading."""
        with self._edge():
            try:
                return dict(self._api.stats(container_id, stream=False, one_shot=True))
            except ValueError as exc:  # a container being removed answers with an empty body
                raise TargetNotFound(f"No such container: {container_id} (being removed)") from exc


def connect_monitor(docker_host: str | None, timeout: int = READ_TIMEOUT,
                    tls: DockerTLS | None = None) -> EngineMonitor:
    """Connect to the engine at ``docker_host`` for watching (reads time out after ``timeout`` s)."""
    return EngineMonitor(client_for(docker_host, timeout, tls), docker_host or DEFAULT_DOCKER_HOST)
