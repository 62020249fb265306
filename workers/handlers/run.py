"""``run [flags] IMAGE [COMMAND...]``: create and start a labelled container (detached, like ``-d``)."""

from __future__ import annotations

from dockbolt.core.args import RunArgs, ownership_labels
from workers import messages
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: RunArgs) -> Reply:
    """Start a container from the run args and report its id and name."""
    # RunArgs refuses user labels under the reserved prefix, so the ownership labels can be trusted.
    ctx.progress(f"starting a container from {args.image}…")
    result = ctx.docker.run(args, ownership_labels(ctx.job.user_id, ctx.job.job_id))
    return Reply(text=messages.run_done(result, args.image))


HANDLERS = (Handler("run", RunArgs, handle),)
