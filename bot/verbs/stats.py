"""`stats`: one snapshot of CPU, memory, network and block I/O, like `docker stats --no-stream`."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.values import container_refs
from dockbolt.core.args import StatsArgs


def build(flags: dict[str, Any], positionals: list[str]) -> StatsArgs:
    """Build stats args: the NAMEs, or none for every running container."""
    return StatsArgs(container_refs(positionals))


SPECS = (
    VerbSpec(
        name="stats",
        summary="Show CPU/memory/network usage (all running containers when no NAME)",
        usage="stats [NAME…]",
        default_role="viewer",
        max_positionals=None,
        build=build,
        timeout=60,
    ),
)
