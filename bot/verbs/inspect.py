"""`inspect`: show one container's configuration and state."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.values import container_ref
from dockbolt.core.args import NameArgs


def build(flags: dict[str, Any], positionals: list[str]) -> NameArgs:
    """Build inspect args from the one NAME."""
    return NameArgs(container_ref(positionals[0]))


SPECS = (
    VerbSpec(
        name="inspect",
        summary="Show a container's details",
        usage="inspect NAME",
        default_role="viewer",
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=60,
    ),
)
