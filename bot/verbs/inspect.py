"""`inspect`: show one container's configuration and state."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.values import container_ref


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build inspect args from the one NAME."""
    return {"name": container_ref(positionals[0])}


SPEC = VerbSpec(
    name="inspect",
    summary="Show a container's details",
    usage="inspect NAME",
    min_positionals=1,
    max_positionals=1,
    build=build,
    timeout=60,
)
