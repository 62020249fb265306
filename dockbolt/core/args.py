"""Each queued verb's arguments, once, as frozen dataclasses: the job args half of the contract.

The bot's parser produces them (``bot/verbs/<verb>.py``), ``to_dict`` puts them on the queue as JSON,
and the worker rebuilds them with ``from_dict`` (one generic, strict decoder: ``dockbolt.core.codec``)
before a handler (``workers/handlers/<verb>.py``) receives them typed. Values are already validated and
normalised by the bot (docker's own rules); the checks here are the invariants a worker relies on.
Names are container names or ids as the user typed them. The `service` verb's args are in
``dockbolt.core.service_args``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from dockbolt.core import goformat
from dockbolt.core.codec import decode, encode

# Labels every container dockbolt creates carries; user labels may not use the prefix.
RESERVED_LABEL_PREFIX = "dockbolt."
LABEL_MANAGED = "dockbolt.managed"
LABEL_CREATED_BY = "dockbolt.created-by"
LABEL_JOB = "dockbolt.job"
LABEL_APP = "dockbolt.app"  # on what a deploy makes: the app it belongs to
LABEL_REF = "dockbolt.ref"  # and the ref (or image) it was deployed from

PortProto = Literal["tcp", "udp", "sctp"]
RestartPolicy = Literal["always", "unless-stopped", "on-failure"]
MountType = Literal["bind", "volume", "tmpfs"]
# `run --pull`: pull the image first when it is not here (docker's default), every time, or never.
PullPolicy = Literal["missing", "always", "never"]
PORT_PROTOS: tuple[PortProto, ...] = ("tcp", "udp", "sctp")
RESTART_POLICIES: tuple[RestartPolicy, ...] = ("always", "unless-stopped", "on-failure")
MOUNT_TYPES: tuple[MountType, ...] = ("bind", "volume", "tmpfs")
PULL_POLICIES: tuple[PullPolicy, ...] = ("missing", "always", "never")
# A bare `-e NAME` takes its value from the worker's variable SECRET_ENV_PREFIX + NAME.
SECRET_ENV_PREFIX = "DOCKBOLT_SECRET_"  # noqa: S105 (a name prefix, not a secret)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


class Args:
    """Base of every verb's args: JSON in and out through the one codec."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict put on the queue."""
        data: dict[str, Any] = encode(self)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Rebuild the args from queue JSON; ContractError names the first field that does not fit."""
        return decode(cls, data, cls.__name__)


@dataclass(frozen=True)
class NoArgs(Args):
    """A verb without arguments (`whoami`, `jobs`)."""


@dataclass(frozen=True)
class NameArgs(Args):
    """One container (or image) name or id (`inspect NAME`)."""

    name: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name must not be empty")


@dataclass(frozen=True)
class NamesArgs(Args):
    """One or more container names or ids (`start NAME…`)."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names or not all(self.names):
            raise ValueError("names must be a non-empty list of non-empty names")


@dataclass(frozen=True)
class StopArgs(NamesArgs):
    """`stop`/`restart`: seconds before SIGKILL (None: the container's own default, usually 10)."""

    timeout: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.timeout is not None and self.timeout < 0:
            raise ValueError("timeout must be ≥ 0")


@dataclass(frozen=True)
class RmArgs(NamesArgs):
    """`rm`: ``force`` kills a running container first."""

    force: bool = False


@dataclass(frozen=True)
class StatsArgs(Args):
    """`stats`: the containers to sample; empty means every running one, like `docker stats`. ``since``
    (seconds back from now, one name): a chart of its history instead; ``sort`` ("cpu" | "mem"): the
    heaviest first, ``limit`` of them (0 = all)."""

    names: tuple[str, ...] = ()
    since: int | None = None
    sort: str = ""
    limit: int = 0

    def __post_init__(self) -> None:
        if self.since is not None and (self.since <= 0 or len(self.names) != 1):
            raise ValueError("since must be > 0 and needs exactly one name")
        if self.sort not in ("", "cpu", "mem"):
            raise ValueError('sort must be "cpu" or "mem"')
        if self.limit < 0:
            raise ValueError("limit must be ≥ 0")


@dataclass(frozen=True)
class PsArgs(Args):
    """`ps`: every container or running ones only; filters by key (name, label, status), values ORed."""

    all: bool = False
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # "" the compact table, "table" the CLI's, else a `{{.Field}}` template (``dockbolt.core.goformat``).
    format: str = ""

    def __post_init__(self) -> None:
        goformat.check(self.format, goformat.PS_FIELDS, goformat.PS_NOT_YET)


@dataclass(frozen=True)
class ImagesArgs(Args):
    """`images`: the output ``format``, as for `ps` (the compact table, "table" or a template)."""

    format: str = ""

    def __post_init__(self) -> None:
        goformat.check(self.format, goformat.IMAGES_FIELDS, goformat.IMAGES_NOT_YET)


@dataclass(frozen=True)
class Since(Args):
    """A `--since` point: ``seconds_ago`` (resolved when the job runs) or a fixed ``unix`` time."""

    seconds_ago: int | None = None
    unix: float | None = None

    def __post_init__(self) -> None:
        if (self.seconds_ago is None) == (self.unix is None):
            raise ValueError("since needs exactly one of seconds_ago and unix")
        if self.seconds_ago is not None and self.seconds_ago <= 0:
            raise ValueError("since.seconds_ago must be > 0")


@dataclass(frozen=True)
class LogsArgs(NameArgs):
    """`logs`: the newest ``tail`` lines (None: all), from ``since`` on, with timestamps or not."""

    tail: int | None = None
    since: Since | None = None
    timestamps: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tail is not None and self.tail < 0:
            raise ValueError("tail must be ≥ 0")


@dataclass(frozen=True)
class PortSpec(Args):
    """A `-p` publication; ``host_port`` "" lets Docker pick one, ``host_ip`` "" means every interface."""

    container_port: str
    host_port: str = ""
    host_ip: str = ""
    proto: PortProto = "tcp"


@dataclass(frozen=True)
class VolumeSpec(Args):
    """A `-v SOURCE:TARGET[:ro]` mount: SOURCE a volume name or an absolute host path."""

    source: str
    target: str
    read_only: bool = False

    @property
    def bind(self) -> str:
        """The ``Binds`` entry the Docker CLI sends for this mount."""
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass(frozen=True)
class MountSpec(Args):
    """A `--mount`: ``bind`` (``source`` an absolute, normalised host path), ``volume`` (``source`` a volume
    name, "" for an anonymous one) or ``tmpfs`` (no ``source``); ``target`` an absolute path in the container.
    """

    type: MountType
    target: str
    source: str = ""
    read_only: bool = False

    def __post_init__(self) -> None:
        if not self.target.startswith("/"):
            raise ValueError("mount target must be an absolute path")
        if self.type == "bind" and not self.source.startswith("/"):
            raise ValueError("a bind mount's source must be an absolute host path")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount has no source")


@dataclass(frozen=True)
class RestartSpec(Args):
    """A `--restart` policy other than "no" (which travels as None, the engine's default)."""

    name: RestartPolicy
    max_retries: int = 0


@dataclass(frozen=True)
class RunArgs(Args):
    """`run` (always detached): the image, its command verbatim, and the docker-CLI options.

    Every field has a default, so a payload from an older bot still decodes. What each flag may cost
    (which grant it needs) is ``dockbolt.core.run_policy.check_run``; the defaults the worker fills in
    (memory, pids, publish address, no-new-privileges) are ``run_policy.apply_defaults``.
    """

    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    ports: tuple[PortSpec, ...] = ()
    env: tuple[str, ...] = ()  # "K=V" (the bot sends a bare `-e K` in ``secret_env``, never here)
    labels: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[VolumeSpec, ...] = ()
    network: str | None = None
    restart: RestartSpec | None = None
    memory: int | None = None  # bytes
    nano_cpus: int | None = None  # 1_000_000_000 = one CPU
    user: str | None = None
    workdir: str | None = None
    # Bare `-e NAME`: the worker sets NAME from its own variable DOCKBOLT_SECRET_NAME (never the bot's).
    secret_env: tuple[str, ...] = ()
    mounts: tuple[MountSpec, ...] = ()  # `--mount`, in the order given
    privileged: bool = False  # `--privileged`
    cap_add: tuple[str, ...] = ()  # `--cap-add`: "CAP_NET_ADMIN"… or "ALL", upper case, sorted, once each
    cap_drop: tuple[str, ...] = ()  # `--cap-drop`, same spelling
    devices: tuple[str, ...] = ()  # `--device`: "HOST:CONTAINER:PERMS", HOST an absolute path
    pid_mode: str | None = None  # `--pid`: "host" or "container:NAME"
    ipc_mode: str | None = None  # `--ipc`: none, private, shareable, host or container:NAME
    userns_mode: str | None = None  # `--userns`: "host"
    security_opt: tuple[str, ...] = ()  # `--security-opt`; "no-new-privileges:true|false" spelled so
    pids_limit: int | None = None  # `--pids-limit` (> 0; None: the [policy] default)
    read_only: bool = False  # `--read-only`: the container's root filesystem is read-only
    pull: PullPolicy = "missing"  # `--pull`: the worker pulls the image (after authorization) before creating

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError("image must not be empty")
        reserved = [k for k in self.labels if k.lower().startswith(RESERVED_LABEL_PREFIX)]
        if reserved:
            raise ValueError(f"labels under {RESERVED_LABEL_PREFIX!r} are reserved: {', '.join(reserved)}")
        odd = [n for n in self.secret_env if not ENV_NAME_RE.match(n)]
        if odd:
            raise ValueError(f"secret_env entries must be variable names: {', '.join(odd)}")
        if self.pids_limit is not None and self.pids_limit <= 0:
            raise ValueError("pids_limit must be > 0")


@dataclass(frozen=True)
class PullArgs(Args):
    """`pull IMAGE[:TAG|@DIGEST]`: the reference as typed (docker's grammar, checked by the bot)."""

    image: str

    def __post_init__(self) -> None:
        if not self.image or self.image.startswith("-"):
            raise ValueError("image must be an image reference")


# An image reference as `docker build -t` takes it: [registry[:port]/]path[:tag], lower-case path.
IMAGE_TAG_RE = re.compile(r"^(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
                          r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?\Z")


@dataclass(frozen=True)
class BuildArgs(Args):
    """`build`: tag the image built from ``context`` — a git URL (with an optional ``#ref``) or a local
    directory; which ones are allowed is the worker's ``[build]`` config, checked by the worker."""

    tag: str
    context: str
    dockerfile: str = "Dockerfile"  # relative to the context, never outside it
    build_args: Mapping[str, str] = field(default_factory=dict)  # `--build-arg K=V`
    no_cache: bool = False

    def __post_init__(self) -> None:
        if not IMAGE_TAG_RE.match(self.tag):
            raise ValueError(f"tag {self.tag!r} is not an image name like name:tag or registry/name:tag")
        if not self.context or self.context.startswith("-"):
            raise ValueError("context must be a git URL or a directory")
        parts = self.dockerfile.split("/")
        if not self.dockerfile or self.dockerfile.startswith(("/", "-")) or ".." in parts:
            raise ValueError("dockerfile must be a path inside the context")
        odd = [k for k in self.build_args if not ENV_NAME_RE.match(k)]
        if odd:
            raise ValueError(f"build args must be variable names: {', '.join(odd)}")


@dataclass(frozen=True)
class HealthSpec(Args):
    """How a deploy decides a new container is good: ``cmd`` (argv, run inside it) exits 0 within
    ``timeout`` seconds; without one, the image's HEALTHCHECK reports healthy, or (no HEALTHCHECK) the
    container is still running after ``grace`` seconds."""

    cmd: tuple[str, ...] = ()
    timeout: int = 60
    grace: int = 5

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.grace < 0:
            raise ValueError("health timeout must be > 0 and grace ≥ 0")


@dataclass(frozen=True)
class DeployArgs(Args):
    """`deploy APP` / `rollback APP`: everything the worker needs, from the app's config entry.

    ``ref`` builds ``context`` at that ref into ``repository:ref``; ``image`` deploys an existing image
    (neither, for `deploy`: the context's default branch, tagged "latest"). A rollback carries neither:
    the worker takes the image of the app's last good deploy before the current one. ``run`` is the app's
    run options, checked like `run` (its image and name are the deploy's own). ``by`` says who asked.
    """

    app: str
    container: str
    repository: str
    run: RunArgs
    channel: str = ""  # where the deployment is announced ("" = nowhere)
    ref: str = ""
    image: str = ""
    context: str = ""
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)
    health: HealthSpec = field(default_factory=HealthSpec)
    by: str = ""
    mode: Literal["container", "service"] = "container"  # "service": ``container`` names a Swarm service

    def __post_init__(self) -> None:
        if not APP_NAME_RE.match(self.app) or not self.container:
            raise ValueError("app and container must be names")
        if self.ref and self.image:
            raise ValueError("give a ref or an image, not both")
        if self.ref and not GIT_REF_RE.match(self.ref):
            raise ValueError(f"ref {self.ref!r} is not a branch, tag or commit name")
        if self.image and not self.image.strip():
            raise ValueError("image must not be blank")


# App names: as container names, lower case (they name Redis keys and labels).
APP_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}\Z")
# A git ref (branch, tag or commit) as typed: no "..", no leading "-" (never taken for a git option).
GIT_REF_RE = re.compile(r"^[A-Za-z0-9_](?!.*\.\.)[A-Za-z0-9._/-]{0,199}\Z")


def ownership_labels(user_id: str, job_id: str) -> dict[str, str]:
    """The labels that mark a container as dockbolt's, with who created it and in which job."""
    return {LABEL_MANAGED: "true", LABEL_CREATED_BY: user_id, LABEL_JOB: job_id}

