"""``ps [-a] [--filter ...] [--format ...]``: the containers, as a compact table (the default), the CLI's
table (``--format table``) or a ``{{.Field}}`` template."""

from __future__ import annotations

import time

from dockbolt.core import goformat
from dockbolt.core.args import PsArgs
from dockbolt.core.buttons import container_menu
from dockbolt.core.tables import Table
from workers import formatting, messages
from workers.docker_port import ContainerSummary
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: PsArgs) -> Reply:
    """List containers like ``docker ps`` (running only unless ``all``), those the caller may see."""
    rows = ctx.docker.list_containers(show_all=args.all, filters=args.filters or None)
    containers = [c for c in rows if ctx.visible(c)]
    grid = grid_of(args.format, containers, now=time.time())
    return Reply(text=messages.ps_summary(len(containers), args.all, hidden=len(rows) - len(containers),
                                          statuses=tuple(args.filters.get("status", ()))),
                 body=(grid.render() or None) if containers or args.format else None,  # no lone header
                 filename="ps.txt", table=grid,
                 buttons=tuple(container_menu(((c.name, c.state == "running") for c in containers),
                                              ctx.job.host)))


def grid_of(fmt: str, containers: list[ContainerSummary], now: float) -> Table:
    """The table ``fmt`` asks for ("" compact, "table" the CLI's, else a checked template)."""
    if not fmt:
        return formatting.ps_compact_table(containers)
    if goformat.is_cli_table(fmt):
        return formatting.ps_table(containers, now)
    template = goformat.parse(fmt, goformat.PS_FIELDS, goformat.PS_NOT_YET)
    return goformat.render(template, goformat.PS_FIELDS, (formatting.ps_fields(c, now) for c in containers))


HANDLERS = (Handler("ps", PsArgs, handle, in_process=True),)
