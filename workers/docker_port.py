"""The Docker I/O boundary: a small Protocol plus the typed shapes crossing it.

Two implementations satisfy it: ``workers.docker_engine`` (the real engine, the only module that imports
``docker``) and ``workers.fake_docker`` (in memory, for tests). Both raise only dockbolt errors, with
Docker's own words: ``TargetNotFound`` (no such container), ``DockerError`` (anything else the engine
refused) and ``DockerUnavailable`` (the engine cannot be reached).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockbolt.core.errors import ContractError


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
class PortSpec:
    """A ``-p`` publication: ``host_port`` is "" when Docker should pick one."""

    container_port: str
    host_port: str = ""
    host_ip: str = ""
    proto: str = "tcp"


@dataclass(frozen=True)
class VolumeSpec:
    """A ``-v source:target[:ro]`` mount (named volume or host path)."""

    source: str
    target: str
    read_only: bool = False

    @property
    def bind(self) -> str:
        """The ``Binds`` entry the Docker CLI sends for this mount."""
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass(frozen=True)
class RestartSpec:
    """A ``--restart`` policy."""

    name: str
    max_retries: int = 0


@dataclass(frozen=True)
class RunSpec:
    """Everything ``run`` needs, typed; built from the contract args of docs/job-args.md."""

    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    ports: tuple[PortSpec, ...] = ()
    env: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[VolumeSpec, ...] = ()
    network: str | None = None
    restart: RestartSpec | None = None
    memory: int | None = None
    nano_cpus: int | None = None
    user: str | None = None
    workdir: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RunSpec:
        """Build a RunSpec from ``run`` job args, rejecting values of the wrong JSON type."""
        try:
            restart = args.get("restart")
            return cls(
                image=_str(args["image"]),
                command=tuple(_str(c) for c in args.get("command") or ()),
                name=_opt_str(args.get("name")),
                ports=tuple(
                    PortSpec(
                        container_port=_str(p["container_port"]),
                        host_port=_str(p.get("host_port", "")),
                        host_ip=_str(p.get("host_ip", "")),
                        proto=_str(p.get("proto", "tcp")),
                    )
                    for p in args.get("ports") or ()
                ),
                env=tuple(_str(e) for e in args.get("env") or ()),
                labels={_str(k): _str(v) for k, v in (args.get("labels") or {}).items()},
                volumes=tuple(
                    VolumeSpec(_str(v["source"]), _str(v["target"]), bool(v.get("read_only", False)))
                    for v in args.get("volumes") or ()
                ),
                network=_opt_str(args.get("network")),
                restart=None
                if restart is None
                else RestartSpec(_str(restart["name"]), _int(restart.get("max_retries", 0))),
                memory=_opt_int(args.get("memory")),
                nano_cpus=_opt_int(args.get("nano_cpus")),
                user=_opt_str(args.get("user")),
                workdir=_opt_str(args.get("workdir")),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ContractError(f"malformed run args: {exc!r}") from exc


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {v!r}")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _int(v: Any) -> int:
    # bool is an int subclass in Python but never a valid count or size here.
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"expected an integer, got {v!r}")
    return v


def _opt_int(v: Any) -> int | None:
    return None if v is None else _int(v)


@dataclass(frozen=True)
class RunResult:
    """The container ``run`` created and started."""

    id: str
    name: str


@dataclass(frozen=True)
class EngineInfo:
    """What ``docker version`` says about the server."""

    version: str
    api_version: str
    os: str
    arch: str


class DockerPort(Protocol):
    """Everything the worker asks of a Docker engine. Names may be container names, ids or id prefixes."""

    def ping(self) -> None:
        """Return if the engine answers; raise DockerUnavailable otherwise."""

    def version(self) -> EngineInfo:
        """Return the engine's version information."""

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

    def run(self, spec: RunSpec, labels: Mapping[str, str]) -> RunResult:
        """Create and start a container like ``docker run -d``; ``labels`` are merged over the spec's."""

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
        """Return stdout+stderr interleaved; at most the newest ``max_bytes`` bytes; ``tail`` None = all."""

    def stats(self, name: str) -> dict[str, Any]:
        """Return one raw stats sample (``stream=False``: carries ``precpu_stats``)."""
