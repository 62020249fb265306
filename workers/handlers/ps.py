"""``ps [-a] [--filter ...]``: the containers table."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from workers import messages
from workers.handlers.base import HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """List containers like ``docker ps`` (running only unless ``all``)."""
    show_all = bool(args.get("all", False))
    filters = {str(k): [str(v) for v in values] for k, values in (args.get("filters") or {}).items()}
    containers = ctx.docker.list_containers(show_all=show_all, filters=filters or None)
    return Reply(
        text=messages.ps_summary(len(containers), show_all),
        body=messages.ps_table(containers, now=time.time()),
        filename="ps.txt",
    )
