"""`images`: list the images on the Docker host (a compact table; `--format table` or a template)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from dockbolt.core import goformat
from dockbolt.core.args import ImagesArgs


def check_format(raw: str) -> str:
    """Check `--format`: `table`, or a template of `{{.Field}}` placeholders over docker's image fields."""
    return goformat.check(raw, goformat.IMAGES_FIELDS, goformat.IMAGES_NOT_YET)


def build(flags: dict[str, Any], positionals: list[str]) -> ImagesArgs:
    """Build images args: the output format ("" the compact table)."""
    return ImagesArgs(format=flags["format"] or "")


SPECS = (
    VerbSpec(
        name="images",
        summary="List images (a compact table; `--format table` for docker's own layout)",
        usage="images [--format table|'{{.Repository}}:{{.Tag}} {{.Size}}'|'table {{.ID}}\\t{{.Size}}']",
        default_role="viewer",
        flags=(Flag(("--format",), "format", "value", "FORMAT", check_format),),
        build=build,
        fans_out=True,
    ),
)
