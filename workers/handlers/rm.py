"""``rm [-f] NAME...``: remove containers, reporting per name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.handlers._each import for_each, names_arg
from workers.handlers.base import HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Remove each named container (``force`` kills a running one first)."""
    force = bool(args.get("force", False))
    return for_each(ctx, names_arg(args), lambda n: ctx.docker.remove(n, force), "removing", "Removed")
