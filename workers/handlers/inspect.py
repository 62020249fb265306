"""``inspect NAME``: a container's (or image's) inspect document, environment values masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockbolt.core.errors import ContractError
from workers import messages
from workers.handlers.base import HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Return the inspect JSON of a container, or of an image when no container has that name."""
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise ContractError(f"'name' must be a non-empty string, got {name!r}")
    doc = ctx.docker.inspect(name)
    # Only container documents carry a State; image documents do not.
    kind = "container" if "State" in doc else "image"
    return Reply(
        text=messages.inspect_summary(name, kind),
        body=messages.inspect_json(doc),
        filename=messages.safe_filename(name, ".json"),
    )
