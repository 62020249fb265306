"""``node ls``: the Swarm's nodes (the engine must be a manager; otherwise Docker says so)."""

from __future__ import annotations

from dockbolt.core.args import NoArgs
from workers import formatting, messages
from workers.docker_swarm import SwarmEngine
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: NoArgs) -> Reply:
    """List the nodes like ``docker node ls``."""
    nodes = SwarmEngine.of(ctx.docker).nodes()
    grid = formatting.nodes_table(nodes)
    return Reply(text=messages.listed(len(nodes), "node"), body=grid.render(), filename="nodes.txt",
                 table=grid)


HANDLERS = (Handler("node", NoArgs, handle),)
