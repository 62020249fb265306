"""`images`: list the images on the Docker host."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from dockbolt.core.args import NoArgs


def build(flags: dict[str, Any], positionals: list[str]) -> NoArgs:
    """Build images args (there are none)."""
    return NoArgs()


SPECS = (
    VerbSpec(name="images", summary="List images", usage="images", default_role="viewer", build=build,
             fans_out=True),
)
