"""The container image's size: dockbolt:latest as deploy/build-image.sh (`make image`) builds it.

Reports the image's size in MB (10^6 bytes, as `docker images` shows it), its base image's, and what
dockbolt adds on top (the venv with every dependency, git, the user). When the image is not there it says
so and how to build it — unless ``DOCKBOLT_BENCH_BUILD_IMAGE=1``, which builds it first (about a minute
with a cached base and pip cache; the first time also a debootstrap of the local base).

Run alone: ``python -m bench.imagebench``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

IMAGE = "dockbolt:latest"
ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000


def image_figures(image: str = IMAGE, build: bool | None = None) -> dict[str, float | str] | None:
    """{"size", "base", "added" (MB), "base_image", "build_s" (when built here)}; None without the image."""
    if build is None:
        build = os.environ.get("DOCKBOLT_BENCH_BUILD_IMAGE") == "1"
    try:
        client = docker.from_env()
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None
    with client:
        figures: dict[str, float | str] = {}
        if build:
            start = time.monotonic()
            subprocess.run([str(ROOT / "deploy" / "build-image.sh")], check=True,  # noqa: S603
                           env={**os.environ, "IMAGE": image})
            figures["build_s"] = time.monotonic() - start
        try:
            found = client.images.get(image)
        except docker.errors.ImageNotFound:
            return None
        # The base is the bottom layers the image shares with its base image (the FROM of the final stage).
        base_name = next((line.split(": ", 1)[1] for line in _build_log(found) if line.startswith("base: ")), "")
        figures["size"] = found.attrs["Size"] / MB
        figures["base_image"] = base_name or "?"
        base_size = _base_size(client, found)
        figures["base"] = base_size / MB
        figures["added"] = (found.attrs["Size"] - base_size) / MB
        return figures


def _build_log(image: docker.models.images.Image) -> list[str]:
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return [f"base: {labels['dockbolt.base']}"] if "dockbolt.base" in labels else []


def _base_size(client: docker.DockerClient, image: docker.models.images.Image) -> int:
    """Size of the image's first layer group: the history entries before the first dockbolt step."""
    layers = image.history()  # newest first; each entry's Size is what that step added
    oldest_first = list(reversed(layers))
    base = 0
    for entry in oldest_first:
        created_by = entry.get("CreatedBy") or ""
        if "WITH_GIT" in created_by or "ARG WITH_GIT" in created_by:
            break
        base += int(entry.get("Size") or 0)
    return base


def report(f: dict[str, float | str] | None) -> str:
    """The figures as one table line."""
    if f is None:
        return (f"image {IMAGE}: not built (`make image`, or DOCKBOLT_BENCH_BUILD_IMAGE=1 to build it here)")
    built = f" (built in {f['build_s']:.0f} s)" if "build_s" in f else ""
    return (f"image {IMAGE}: {f['size']:.0f} MB = base {f['base']:.0f} MB + dockbolt {f['added']:.0f} MB "
            f"(venv with every dependency, git){built}")


if __name__ == "__main__":
    print(report(image_figures()))
    sys.exit(0)
