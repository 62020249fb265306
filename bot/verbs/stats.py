"""`stats`: one snapshot of CPU, memory, network and block I/O, like `docker stats --no-stream`."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.values import container_refs


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build stats args: the NAMEs, or none for every running container."""
    return {"names": container_refs(positionals)}


SPEC = VerbSpec(
    name="stats",
    summary="Show CPU/memory/network usage (all running containers when no NAME)",
    usage="stats [NAME…]",
    max_positionals=None,
    build=build,
    timeout=60,
)
