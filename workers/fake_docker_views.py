"""What FakeDocker's containers and images look like through the Engine API: list rows, inspect
documents, stats samples. Pure functions over the fake's records; kept apart so the fake stays readable.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workers.docker_port import ContainerSummary, PortMapping, RunSpec
from workers.messages import human_duration

FAKE_HOST_MEMORY = 24 * 1024**3


def rfc3339(ts: float) -> str:
    """Docker's fixed-width RFC 3339 timestamp (nanoseconds, always 9 digits)."""
    whole = int(ts)
    nanos = round((ts - whole) * 1e9)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def digest(*parts: object) -> str:
    """A stable fake sha256 id."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def normalize_ref(ref: str) -> str:
    """Add the implicit ``:latest`` tag the engine assumes for an untagged reference."""
    last = ref.rsplit("/", 1)[-1]
    return ref if (":" in last or "@" in ref) else f"{ref}:latest"


@dataclass
class FakeImage:
    """An image as the fake engine keeps it."""

    id: str
    tags: list[str]
    created: float
    size: int
    env: list[str]


@dataclass
class FakeContainer:
    """A container as the fake engine keeps it."""

    id: str
    name: str
    image: FakeImage
    image_ref: str
    spec: RunSpec
    labels: dict[str, str]
    created: float
    state: str = "created"
    exit_code: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    host_ports: dict[int, str] = field(default_factory=dict)  # index in spec.ports -> allocated port
    log: list[tuple[float, bytes]] = field(default_factory=list)
    sample: dict[str, Any] | None = None


def list_row(c: FakeContainer, now: float) -> ContainerSummary:
    """How a container appears in the list API."""
    if c.state == "running":
        status = f"Up {human_duration(now - c.started_at)}"
    elif c.state == "exited":
        status = f"Exited ({c.exit_code}) {human_duration(now - c.finished_at)} ago"
    else:
        status = c.state.capitalize()
    ports: list[PortMapping] = []
    for i, p in enumerate(c.spec.ports):
        if c.state != "running":
            ports.append(PortMapping(int(p.container_port), p.proto))
            continue
        for ip in [p.host_ip] if p.host_ip else ["0.0.0.0", "::"]:  # noqa: S104 - what Docker reports
            ports.append(PortMapping(int(p.container_port), p.proto, ip, int(c.host_ports[i])))
    return ContainerSummary(
        id=c.id,
        names=(c.name,),
        image=c.image_ref,
        image_id=c.image.id,
        command=list_command(c.spec.command),
        created=int(c.created),
        state=c.state,
        status=status,
        ports=tuple(ports),
        labels=dict(c.labels),
    )


def inspect_doc(c: FakeContainer) -> dict[str, Any]:
    """How a container appears in the inspect API (the fields dockbolt and its tests read)."""
    s = c.spec
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in s.ports:
        bindings.setdefault(f"{p.container_port}/{p.proto}", []).append(
            {"HostIp": p.host_ip, "HostPort": p.host_port}
        )
    config: dict[str, Any] = {
        "Hostname": c.id[:12],
        "User": s.user or "",
        "Env": [*s.env, *c.image.env],
        "Cmd": list(s.command),
        "Image": c.image_ref,
        "WorkingDir": s.workdir or "",
        "Labels": dict(c.labels),
    }
    if bindings:
        config["ExposedPorts"] = {key: {} for key in bindings}
    restart = {"Name": s.restart.name, "MaximumRetryCount": s.restart.max_retries} if s.restart else None
    return {
        "Id": c.id,
        "Created": rfc3339(c.created),
        "Path": s.command[0],
        "Args": list(s.command[1:]),
        "State": {
            "Status": c.state,
            "Running": c.state == "running",
            "ExitCode": c.exit_code,
            "StartedAt": rfc3339(c.started_at),
            "FinishedAt": rfc3339(c.finished_at),
        },
        "Image": c.image.id,
        "Name": f"/{c.name}",
        "Config": config,
        "HostConfig": {
            "Binds": [v.bind for v in s.volumes] or None,
            "NetworkMode": s.network or "default",
            "PortBindings": bindings,
            "RestartPolicy": restart or {"Name": "no", "MaximumRetryCount": 0},
            "Memory": s.memory or 0,
            "NanoCpus": s.nano_cpus or 0,
        },
        "NetworkSettings": {"Networks": {s.network or "bridge": {}}},
    }


def list_command(argv: Sequence[str]) -> str:
    """The list API's Command: arguments containing a space are wrapped in single quotes, nothing escaped."""
    return " ".join([argv[0], *(f"'{a}'" if " " in a else a for a in argv[1:])])


def matches(c: FakeContainer, filters: Mapping[str, Sequence[str]]) -> bool:
    """Docker's rules: values of one key are OR'ed, different keys AND'ed; names are regexes on "/name"."""

    def name_ok(pattern: str) -> bool:
        try:
            return re.search(pattern, f"/{c.name}") is not None
        except re.error:
            return False

    def label_ok(spec: str) -> bool:
        key, sep, value = spec.partition("=")
        return key in c.labels and (not sep or c.labels[key] == value)

    checks: dict[str, Callable[[str], bool]] = {
        "name": name_ok,
        "label": label_ok,
        "status": lambda s: c.state == s,
    }
    for key, values in filters.items():
        if values and not (all if key == "label" else any)(checks[key](v) for v in values):
            return False
    return True


def default_sample(c: FakeContainer, now: float) -> dict[str, Any]:
    """A plausible stats sample for a running container; zeros for a stopped one, as the engine gives."""
    if c.state != "running":
        zero_cpu = {"cpu_usage": {"total_usage": 0}}
        return {
            "read": "0001-01-01T00:00:00Z",
            "pids_stats": {},
            "cpu_stats": zero_cpu,
            "precpu_stats": copy.deepcopy(zero_cpu),
            "memory_stats": {},
            "blkio_stats": {"io_service_bytes_recursive": None},
        }
    return {
        "read": rfc3339(now),
        "pids_stats": {"current": 1},
        "cpu_stats": {
            "cpu_usage": {"total_usage": 30_000_000},
            "system_cpu_usage": 4_000_000_000,
            "online_cpus": 2,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 10_000_000},
            "system_cpu_usage": 2_000_000_000,
            "online_cpus": 2,
        },
        "memory_stats": {
            "usage": 1_048_576,
            "limit": c.spec.memory or FAKE_HOST_MEMORY,
            "stats": {"total_inactive_file": 0},
        },
        "networks": {"eth0": {"rx_bytes": 736, "tx_bytes": 0}},
        "blkio_stats": {"io_service_bytes_recursive": []},
    }
