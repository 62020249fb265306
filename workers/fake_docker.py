"""An in-memory Docker engine implementing ``DockerPort`` (in the spirit of dramatiq's stub broker).

It raises the same dockbolt errors with the same words as the real engine (checked by the contract
tests in tests/integration/test_docker_port_contract.py, which run against both). Containers do not run
anything: tests feed log lines with ``write_log`` and stats samples with ``set_stats``.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dockbolt.core.errors import DockerError, DockerUnavailable, TargetNotFound
from workers.docker_port import ContainerSummary, EngineInfo, ImageSummary, RunResult, RunSpec
from workers.fake_docker_views import (
    FakeContainer,
    FakeImage,
    default_sample,
    digest,
    inspect_doc,
    list_row,
    matches,
    normalize_ref,
    rfc3339,
)

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


class FakeDocker:
    """A DockerPort that keeps images, containers and their logs in memory."""

    def __init__(self, clock: Callable[[], float] = time.time, networks: Iterable[str] = ()) -> None:
        self.clock = clock
        self.unavailable = False
        self.calls: list[tuple[Any, ...]] = []
        self.networks = {"bridge", "host", "none", *networks}
        self._images: list[FakeImage] = []
        self._containers: dict[str, FakeContainer] = {}
        self._seq = itertools.count(1)
        self._lock = threading.RLock()

    # --- test helpers ----------------------------------------------------------------------------------

    def add_image(self, ref: str, *, size: int = 1_985_472, env: Sequence[str] = ()) -> str:
        """Make an image available locally; returns its id."""
        with self._lock:
            image = FakeImage(
                f"sha256:{digest('image', ref)}",
                [normalize_ref(ref)],
                self.clock(),
                size,
                list(env) or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            )
            self._images.append(image)
            return image.id

    def add_container(
        self,
        name: str,
        image: str = "busybox:latest",
        command: Sequence[str] = ("sh",),
        *,
        running: bool = True,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Create a container (running unless told otherwise), adding its image if needed; returns its id."""
        with self._lock:
            if self._image(image) is None:
                self.add_image(image)
            result = self.run(RunSpec(image=image, command=tuple(command), name=name), labels or {})
            if not running:
                self.stop(name)
            return result.id

    def write_log(self, name: str, text: str, at: float | None = None) -> None:
        """Append output lines to a container's log (one entry per line, like the json-file driver)."""
        with self._lock:
            c = self._get(name)
            for line in text.splitlines(keepends=True):
                c.log.append((self.clock() if at is None else at, line.encode()))

    def set_stats(self, name: str, sample: Mapping[str, Any]) -> None:
        """Set the raw stats sample ``stats(name)`` returns (``id``/``name`` are filled in)."""
        with self._lock:
            self._get(name).sample = copy.deepcopy(dict(sample))

    def set_state(self, name: str, state: str, exit_code: int = 0) -> None:
        """Force a container into a state (e.g. "exited", "paused")."""
        with self._lock:
            c = self._get(name)
            c.state, c.exit_code = state, exit_code

    # --- DockerPort --------------------------------------------------------------------------------------

    def _enter(self, *call: Any) -> None:
        self.calls.append(call)
        if self.unavailable:
            raise DockerUnavailable("Cannot reach the Docker engine at fake://: Connection refused")

    def ping(self) -> None:
        """Return unless the fake is marked unavailable."""
        self._enter("ping")

    def close(self) -> None:
        """Nothing to release; recorded so tests can check the port was closed."""
        self.calls.append(("close",))

    def version(self) -> EngineInfo:
        """Return a fixed engine version."""
        self._enter("version")
        return EngineInfo(version="20.10.24-fake", api_version="1.41", os="linux", arch="amd64")

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        """List containers newest first, applying Docker's name/label/status filter rules."""
        self._enter("list_containers", show_all, dict(filters or {}))
        with self._lock:
            for key, values in (filters or {}).items():
                if key not in ("name", "label", "status"):
                    raise DockerError(f"Invalid filter '{key}'")
                if key == "status":
                    for value in values:
                        if value not in _STATES:
                            raise DockerError(f"Invalid filter 'status={value}'")
            rows = [c for c in self._containers.values() if show_all or c.state == "running"]
            rows = [c for c in rows if matches(c, filters or {})]
            return [list_row(c, self.clock()) for c in sorted(rows, key=lambda c: -c.created)]

    def list_images(self) -> list[ImageSummary]:
        """List the images added with ``add_image``."""
        self._enter("list_images")
        with self._lock:
            return [ImageSummary(i.id, tuple(i.tags), int(i.created), i.size) for i in self._images]

    def inspect(self, name: str) -> dict[str, Any]:
        """Inspect a container, else an image, else raise like ``docker inspect``."""
        self._enter("inspect", name)
        with self._lock:
            c = self._find(name)
            if c is not None:
                return inspect_doc(c)
            image = self._image(name)
            if image is not None:
                return {
                    "Id": image.id,
                    "RepoTags": list(image.tags),
                    "Created": rfc3339(image.created),
                    "Size": image.size,
                    "Config": {"Env": list(image.env), "Cmd": None},
                }
            raise TargetNotFound(f"No such object: {name}")

    def run(self, spec: RunSpec, labels: Mapping[str, str]) -> RunResult:
        """Create and start a container; on a start failure the container is removed again."""
        self._enter("run", spec, dict(labels))
        with self._lock:
            image = self._image(spec.image)
            if image is None:
                raise DockerError(f"No such image: {normalize_ref(spec.image)}")
            if spec.name is not None and not _NAME_RE.match(spec.name):
                raise DockerError(
                    f"Invalid container name ({spec.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )
            if not spec.command:
                raise DockerError("No command specified")
            name = (spec.name or f"fake_container_{next(self._seq)}").lstrip("/")
            other = next((c for c in self._containers.values() if c.name == name), None)
            if other is not None:
                raise DockerError(
                    f'Conflict. The container name "/{name}" is already in use by container "{other.id}". '
                    "You have to remove (or rename) that container to be able to reuse that name."
                )
            cid = digest("container", name, next(self._seq))
            c = FakeContainer(cid, name, image, spec.image, spec, {**spec.labels, **labels}, self.clock())
            self._containers[cid] = c
            if spec.network and spec.network not in self.networks:
                del self._containers[cid]
                raise DockerError(f"network {spec.network} not found")
            self._start(c)
            return RunResult(id=cid, name=name)

    def stop(self, name: str, timeout: int | None = None) -> None:
        """Stop a running container (a stopped one is left as is, like the engine's 304)."""
        self._enter("stop", name, timeout)
        with self._lock:
            c = self._get(name)
            if c.state in ("running", "paused", "restarting"):
                c.state, c.exit_code, c.finished_at = "exited", 137, self.clock()

    def start(self, name: str) -> None:
        """Start a container (a running one is left as is)."""
        self._enter("start", name)
        with self._lock:
            c = self._get(name)
            if c.state != "running":
                self._start(c)

    def restart(self, name: str, timeout: int | None = None) -> None:
        """Restart a container, running or not."""
        self._enter("restart", name, timeout)
        with self._lock:
            self._start(self._get(name))

    def remove(self, name: str, force: bool = False) -> None:
        """Remove a container; a running one only with ``force``."""
        self._enter("remove", name, force)
        with self._lock:
            c = self._get(name)
            if c.state == "running" and not force:
                raise DockerError(
                    f"You cannot remove a running container {c.id}. "
                    "Stop the container before attempting removal or force remove"
                )
            del self._containers[c.id]

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        since_unix: int | None = None,
        timestamps: bool = False,
        max_bytes: int,
    ) -> bytes:
        """Return log lines: ``tail`` applied first, then ``since``, as the json-file driver does."""
        self._enter("logs", name, tail, since_unix, timestamps, max_bytes)
        with self._lock:
            entries = list(self._get(name).log)
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        if since_unix is not None and since_unix > 0:
            entries = [e for e in entries if e[0] >= since_unix]
        out = b"".join((rfc3339(ts).encode() + b" " if timestamps else b"") + line for ts, line in entries)
        return out[-max_bytes:] if max_bytes > 0 else b""

    def stats(self, name: str) -> dict[str, Any]:
        """Return the sample set with ``set_stats``, else a fixed plausible one (zeros when stopped)."""
        self._enter("stats", name)
        with self._lock:
            c = self._get(name)
            sample = copy.deepcopy(c.sample) if c.sample is not None else default_sample(c, self.clock())
        sample.update(id=c.id, name=f"/{c.name}")
        return sample

    # --- internals -----------------------------------------------------------------------------------------

    def _find(self, name: str) -> FakeContainer | None:
        if name in self._containers:
            return self._containers[name]
        by_name = [c for c in self._containers.values() if c.name == name.lstrip("/")]
        if by_name:
            return by_name[0]
        by_prefix = [c for c in self._containers.values() if name and c.id.startswith(name)]
        return by_prefix[0] if len(by_prefix) == 1 else None

    def _get(self, name: str) -> FakeContainer:
        c = self._find(name)
        if c is None:
            raise TargetNotFound(f"No such container: {name}")
        return c

    def _image(self, ref: str) -> FakeImage | None:
        wanted = normalize_ref(ref)
        for image in self._images:
            if wanted in image.tags or image.id == ref or image.id.removeprefix("sha256:").startswith(ref):
                return image
        return None

    def _start(self, c: FakeContainer) -> None:
        for i, p in enumerate(c.spec.ports):
            if i not in c.host_ports:
                c.host_ports[i] = p.host_port or str(32767 + next(self._seq))
        c.state, c.started_at = "running", self.clock()
