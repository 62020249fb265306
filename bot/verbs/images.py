"""`images`: list the images on the Docker host."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build images args (there are none)."""
    return {}


SPEC = VerbSpec(name="images", summary="List images", usage="images", build=build, timeout=60)
