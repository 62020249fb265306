"""``stop NAME...``: stop containers, reporting per name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.handlers._each import for_each, names_arg, timeout_arg
from workers.handlers.base import HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Stop each named container (``timeout`` seconds before SIGKILL, None = the container's default)."""
    timeout = timeout_arg(args)
    return for_each(ctx, names_arg(args), lambda n: ctx.docker.stop(n, timeout), "stopping", "Stopped")
