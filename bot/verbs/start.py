"""`start`: start one or more stopped containers."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.values import container_refs


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build start args from the NAMEs."""
    return {"names": container_refs(positionals)}


SPEC = VerbSpec(
    name="start",
    summary="Start stopped containers",
    usage="start NAME…",
    min_positionals=1,
    max_positionals=None,
    build=build,
    timeout=60,
)
