"""The container image's size: dockbolt:latest as deploy/build-image.sh (`make image`) builds it.

Reports the image's size in MB (10^6 bytes, as `docker images` shows it), its base image's (the
``dockbolt.base`` label names it) and what dockbolt adds on top (the venv with every dependency, git,
the user). When the image is not there it says so and how to build it — unless
``DOCKBOLT_BENCH_BUILD_IMAGE=1``, which builds it first (about a minute with a cached base and pip
cache; the first time also a debootstrap of the local base).

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
    """{"size", "base", "added" (MB), "base_image", "build_s" (when built here)}; None without the image
    (or without a Docker engine)."""
    if build is None:
        build = os.environ.get("DOCKBOLT_BENCH_BUILD_IMAGE") == "1"
    try:
        client = docker.from_env()
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None
    try:
        return _figures(client, image, build)
    finally:
        client.close()


def _figures(client: docker.DockerClient, image: str, build: bool) -> dict[str, float | str] | None:
    figures: dict[str, float | str] = {}
    if build:
        start = time.monotonic()
        subprocess.run([str(ROOT / "deploy" / "build-image.sh")], check=True,
                       env={**os.environ, "IMAGE": image})
        figures["build_s"] = time.monotonic() - start
    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    size = int(found.attrs["Size"])
    base_name = (found.attrs.get("Config", {}).get("Labels") or {}).get("dockbolt.base", "")
    try:
        base = int(client.images.get(base_name).attrs["Size"]) if base_name else 0
    except docker.errors.ImageNotFound:
        base = 0
    figures.update(size=size / MB, base=base / MB, added=(size - base) / MB, base_image=base_name or "?")
    return figures


def report(f: dict[str, float | str] | None) -> str:
    """The figures as one line."""
    if f is None:
        return f"image {IMAGE}: not built (`make image`, or DOCKBOLT_BENCH_BUILD_IMAGE=1 to build it here)"
    built = f", built in {f['build_s']:.0f} s" if "build_s" in f else ""
    return (f"image {IMAGE}: {f['size']:.0f} MB = base {f['base_image']} {f['base']:.0f} MB + dockbolt "
            f"{f['added']:.0f} MB (venv with every dependency, git{built})")


if __name__ == "__main__":
    print(report(image_figures()))
    sys.exit(0)
