"""The Docker I/O boundary: a small Protocol plus the typed shapes crossing it.

The product has one implementation, ``workers.docker_engine`` (the only module that imports ``docker``),
checked against the real engine by tests/integration/test_docker_port_contract.py; handler unit tests use
a recording stub kept in ``tests/support``. The port raises only dockbolt errors, with Docker's own
words: ``TargetNotFound`` (no such container), ``DockerError`` (anything else the engine refused) and
``DockerUnavailable`` (the engine cannot be reached).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockbolt.core.args import RunArgs
from dockbolt.core.errors import DockerUnavailable


class LogStreamCut(DockerUnavailable):
    """A log stream ended without the engine's clean end (connection cut, read timeout, engine gone);
    ``data`` is what arrived (its newest ``max_bytes``), ``reason`` why it stopped."""

    def __init__(self, reason: str, data: bytes) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


@dataclass(frozen=True)
class PortMapping:
    """One port of a container as the list API reports it (``public_port`` 0 when not published)."""

    private_port: int
    type: str = "tcp"
    ip: str = ""
    public_port: int = 0


@dataclass(frozen=True)
class ContainerSummary:
    """One row of ``docker ps``: what the engine's list endpoint returns, names without the slash."""

    id: str
    names: tuple[str, ...]
    image: str
    image_id: str
    command: str
    created: int
    state: str
    status: str
    ports: tuple[PortMapping, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The container's own name (the first one that is not a legacy link alias)."""
        return next((n for n in self.names if "/" not in n), self.names[0] if self.names else "")


@dataclass(frozen=True)
class ImageSummary:
    """One local image: id, its tags, creation time (unix seconds) and size in bytes."""

    id: str
    repo_tags: tuple[str, ...]
    created: int
    size: int


@dataclass(frozen=True)
class PulledImage:
    """The image ``pull`` left on the host: its id, registry digest ("" when the engine gave none), size."""

    id: str
    digest: str
    size: int


@dataclass(frozen=True)
class RunResult:
    """The container ``run`` created and started."""

    id: str
    name: str


class DockerPort(Protocol):
    """Everything the worker asks of a Docker engine. Names may be container names, ids or id prefixes."""

    def ping(self) -> None:
        """Return if the engine answers; raise DockerUnavailable otherwise."""

    def close(self) -> None:
        """Release the connections to the engine (the port must not be used afterwards)."""

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        """List containers, newest first (running only unless ``show_all``); filters: name/label/status."""

    def list_images(self) -> list[ImageSummary]:
        """List local images (not intermediate layers)."""

    def inspect(self, name: str) -> dict[str, Any]:
        """Return the raw inspect document of a container, or of an image when no container matches."""

    def run(self, spec: RunArgs, labels: Mapping[str, str]) -> RunResult:
        """Create and start a container like ``docker run -d``; ``labels`` are merged over the spec's.

        Every field of the spec reaches the engine as the docker CLI would send it; the caller has applied
        the [policy] defaults and resolved ``secret_env`` (a spec still holding one raises ValueError).
        """

    def has_image(self, image: str) -> bool:
        """True when the engine has ``image`` locally (what `run --pull missing` asks before creating)."""

    def pull(self, image: str, on_progress: Callable[[Mapping[str, Any]], None]) -> PulledImage:
        """Pull ``image`` like ``docker pull``, with the registry credentials of the worker's docker config
        (``DOCKER_CONFIG`` or ``~/.docker/config.json``); each progress message of the engine goes to
        ``on_progress`` as it comes; a refused pull raises ``DockerError`` in Docker's words."""

    def stop(self, name: str, timeout: int | None = None) -> None:
        """Stop a container (``timeout`` seconds before SIGKILL; None = the container's default)."""

    def start(self, name: str) -> None:
        """Start a container (a running one is left as is)."""

    def restart(self, name: str, timeout: int | None = None) -> None:
        """Restart a container."""

    def remove(self, name: str, force: bool = False) -> None:
        """Remove a container (``force`` kills a running one first)."""

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        since_unix: int | None = None,
        timestamps: bool = False,
        max_bytes: int,
    ) -> bytes:
        """Return stdout+stderr interleaved; at most the newest ``max_bytes`` bytes; ``tail`` None = all.

        A stream that ends without the engine's clean end raises ``LogStreamCut`` with what arrived.
        """

    def stats(self, name: str) -> dict[str, Any]:
        """Return one raw stats sample (``stream=False``: carries ``precpu_stats``)."""

    def build(self, path: str, *, tag: str, dockerfile: str, build_args: Mapping[str, str], no_cache: bool,
              labels: Mapping[str, str], on_output: Callable[[str], None]) -> str:
        """Build ``path`` (the context directory) and tag the image; return its id. The builder's output
        goes to ``on_output`` as it comes; a failed build raises ``DockerError`` with the builder's error."""

    def rename(self, name: str, new_name: str) -> None:
        """Rename a container (``docker rename``)."""

    def exec(self, name: str, cmd: Sequence[str]) -> tuple[int, str]:
        """Run ``cmd`` (argv, no shell) in a running container; its exit code and output (the last 2 KiB)."""
