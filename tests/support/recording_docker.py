"""A recording stub of ``DockerPort`` for handler tests: canned answers, canned errors, every call kept.

It knows nothing of Docker — no container states, no filtering, no error wording: a test says what each
method returns and which calls fail, runs a handler, then asserts on ``calls`` (in the spirit of httpx's
``MockTransport`` and the canned fakes in docker-py's unit tests). What the real engine does is checked
against the engine itself, in tests/integration.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workers.docker_port import ContainerSummary, ImageSummary, PulledImage, RunResult


def canned_id(name: str) -> str:
    """A stable 64-hex-digit id for a canned object."""
    return hashlib.sha256(name.encode()).hexdigest()


def container(name: str, status: str = "Up 2 minutes", **fields: Any) -> ContainerSummary:
    """A canned ``ps`` row; any ``ContainerSummary`` field may be given."""
    row: dict[str, Any] = {
        "id": canned_id(name),
        "names": (name,),
        "image": "busybox",
        "image_id": "sha256:" + canned_id("busybox"),
        "command": "sh",
        "created": 1_700_000_000,
        "state": "running",
        "status": status,
    }
    return ContainerSummary(**{**row, **fields})


def sample(name: str, **fields: Any) -> dict[str, Any]:
    """A canned raw stats sample for ``name`` (only ``id`` and ``name`` unless more is given)."""
    return {"id": canned_id(name), "name": f"/{name}", **fields}


class RecordingDocker:
    """A ``DockerPort`` answering from its canned attributes; each call is kept as ``(method, *args)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.containers: list[ContainerSummary] = []
        self.images: list[ImageSummary] = []
        self.documents: dict[str, dict[str, Any]] = {}  # inspect, by name
        self.logs_of: dict[str, bytes] = {}  # by name; b"" when absent
        self.samples: dict[str, dict[str, Any]] = {}  # stats, by name
        self.build_output: list[str] = []  # what a build "prints"
        self.local_images: set[str] = set()  # what has_image answers True for
        self.pull_output: list[dict[str, Any]] = []  # the engine's messages a pull "streams"
        self.run_result = RunResult(id=canned_id("started"), name="started")
        self.exec_result: tuple[int, str] = (0, "")
        self._errors: dict[tuple[str, str | None], BaseException] = {}
        self._lock = threading.Lock()  # handlers call from several threads

    def fail(self, method: str, error: BaseException, name: str | None = None) -> None:
        """Make ``method`` raise ``error``: on every call, or only on calls about ``name``."""
        self._errors[(method, name)] = error

    def called(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments of every recorded call to ``method``, in arrival order."""
        return [c[1:] for c in self.calls if c[0] == method]

    def _answer(self, method: str, *args: Any, name: str | None = None) -> None:
        with self._lock:
            self.calls.append((method, *args))
        error = self._errors.get((method, name)) or self._errors.get((method, None))
        if error is not None:
            raise error

    # --- DockerPort (each method documented on the Protocol) ---------------------------------------------

    def ping(self) -> None:
        self._answer("ping")

    def close(self) -> None:
        self._answer("close")

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        self._answer("list_containers", show_all, filters)
        return list(self.containers)

    def list_images(self) -> list[ImageSummary]:
        self._answer("list_images")
        return list(self.images)

    def inspect(self, name: str) -> dict[str, Any]:
        self._answer("inspect", name, name=name)
        return self.documents[name]

    def run(self, spec: Any, labels: Mapping[str, str]) -> RunResult:  # the run args, recorded as given
        self._answer("run", spec, dict(labels), name=spec.name)
        return self.run_result

    def stop(self, name: str, timeout: int | None = None) -> None:
        self._answer("stop", name, timeout, name=name)

    def start(self, name: str) -> None:
        self._answer("start", name, name=name)

    def restart(self, name: str, timeout: int | None = None) -> None:
        self._answer("restart", name, timeout, name=name)

    def remove(self, name: str, force: bool = False) -> None:
        self._answer("remove", name, force, name=name)

    def rename(self, name: str, new_name: str) -> None:
        self._answer("rename", name, new_name, name=name)

    def exec(self, name: str, cmd: Sequence[str]) -> tuple[int, str]:
        self._answer("exec", name, tuple(cmd), name=name)
        return self.exec_result

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        since_unix: int | None = None,
        timestamps: bool = False,
        max_bytes: int,
    ) -> bytes:
        self._answer("logs", name, tail, since_unix, timestamps, max_bytes, name=name)
        return self.logs_of.get(name, b"")

    def stats(self, name: str) -> dict[str, Any]:
        self._answer("stats", name, name=name)
        return self.samples[name]

    def build(self, path: str, *, tag: str, dockerfile: str, build_args: Mapping[str, str], no_cache: bool,
              labels: Mapping[str, str], on_output: Callable[[str], None]) -> str:
        self._answer("build", path, tag, dockerfile, dict(build_args), no_cache, dict(labels), name=tag)
        for line in self.build_output:
            on_output(line)
        return "sha256:" + canned_id(tag)

    def has_image(self, image: str) -> bool:
        self._answer("has_image", image, name=image)
        return image in self.local_images

    def pull(self, image: str, on_progress: Callable[[Mapping[str, Any]], None]) -> PulledImage:
        self._answer("pull", image, name=image)
        for message in self.pull_output:
            on_progress(message)
        self.local_images.add(image)
        return PulledImage(id="sha256:" + canned_id(image), digest="sha256:" + canned_id("digest " + image),
                           size=1_234_567)
