"""Pulling an image with its progress on the job card: `pull`, and `run` before it creates (``--pull``).

The engine streams one message per layer event (``{"id": layer, "status": "Downloading",
"progressDetail": {"current": n, "total": m}}``); ``PullProgress`` folds them into one line — layers done
and bytes fetched — handed to the card's progress, which the reporter throttles like `build`'s steps.
Credentials are the worker's (``workers.docker_engine``); none of them passes through here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockbolt.core.args import PullPolicy
from dockbolt.core.mrkdwn import code
from workers.docker_port import DockerPort, PulledImage
from workers.formatting import human_size

# Layer states after which a layer is on the host (the engine's words).
_DONE = ("Pull complete", "Already exists", "Download complete")


class PullProgress:
    """The layers of one pull as the engine reports them, and a line saying where it stands."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.status: dict[str, str] = {}  # layer id -> its last status
        self.bytes: dict[str, tuple[int, int]] = {}  # layer id -> (downloaded, total) while downloading

    def add(self, message: Mapping[str, Any]) -> str | None:
        """Take one engine message; return the progress line, or None when it is not about a layer."""
        layer, status = str(message.get("id") or ""), str(message.get("status") or "")
        detail = message.get("progressDetail")
        if not layer or not status or status.startswith("Pulling from "):
            return None  # "Pulling from x" carries the tag as its id: not a layer
        self.status[layer] = status
        if status == "Downloading" and isinstance(detail, Mapping) and detail.get("total"):
            self.bytes[layer] = (int(detail.get("current") or 0), int(detail["total"]))
        elif status in _DONE and layer in self.bytes:
            self.bytes[layer] = (self.bytes[layer][1], self.bytes[layer][1])
        return self.line()

    def line(self) -> str:
        """"pulling IMAGE: 2/5 layers, 1.2MB of 3.4MB"."""
        done = sum(1 for s in self.status.values() if s in _DONE)
        text = f"pulling {self.image}: {done}/{len(self.status)} layers"
        if self.bytes:
            got, total = (sum(b[i] for b in self.bytes.values()) for i in (0, 1))
            text += f", {human_size(got)} of {human_size(total)}"
        return text


def pull(docker: DockerPort, image: str, progress: Callable[[str], None]) -> PulledImage:
    """Pull ``image``, showing its progress; DockerError (Docker's words) when the engine refuses."""
    state = PullProgress(image)
    progress(f"pulling {image}…")

    def on_progress(message: Mapping[str, Any]) -> None:
        line = state.add(message)
        if line is not None:
            progress(line)

    return docker.pull(image, on_progress)


def before_run(docker: DockerPort, image: str, policy: PullPolicy,
               progress: Callable[[str], None]) -> PulledImage | None:
    """What `run --pull POLICY` does first: pull when ``always``, or when ``missing`` and the engine lacks
    the image (docker's default); None when nothing was pulled (``never``: a missing image stays missing
    and creating the container says so, in Docker's words)."""
    if policy == "always" or (policy == "missing" and not docker.has_image(image)):
        return pull(docker, image, progress)
    return None


def pulled(image: str, result: PulledImage) -> str:
    """"Pulled IMAGE (digest, size)."."""
    digest = result.digest or f"id {result.id.removeprefix('sha256:')[:12]}"
    return f"Pulled {code(image)} ({code(digest)}, {human_size(result.size)})."
