"""``ps [-a] [--filter ...]``: the containers table."""

from __future__ import annotations

import time

from dockbolt.core.args import PsArgs
from workers import formatting, messages
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: PsArgs) -> Reply:
    """List containers like ``docker ps`` (running only unless ``all``), those the caller may see."""
    rows = ctx.docker.list_containers(show_all=args.all, filters=args.filters or None)
    containers = [c for c in rows if ctx.visible(c)]
    grid = formatting.ps_table(containers, now=time.time())
    return Reply(text=messages.ps_summary(len(containers), args.all, hidden=len(rows) - len(containers),
                                          statuses=tuple(args.filters.get("status", ()))),
                 body=grid.render(), filename="ps.txt", table=grid)


HANDLERS = (Handler("ps", PsArgs, handle),)
