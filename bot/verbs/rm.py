"""`rm`: remove containers (`-f` also removes running ones, killing them first)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import container_refs


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build rm args: NAMEs and force."""
    return {"names": container_refs(positionals), "force": flags["force"]}


SPEC = VerbSpec(
    name="rm",
    summary="Remove containers (`-f` to remove running ones)",
    usage="rm [-f|--force] NAME…",
    flags=(Flag(("-f", "--force"), "force"),),
    min_positionals=1,
    max_positionals=None,
    build=build,
    timeout=60,
)
