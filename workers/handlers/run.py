"""``run [flags] IMAGE [COMMAND...]``: create and start a labelled container (detached, like ``-d``).

Before anything is created: the [policy] defaults are filled in (``run_policy.apply_defaults``), host
bind sources are re-checked as this host resolves them and bare `-e NAME` secrets are taken from the
worker's environment (``workers.run_guard``). Then, as ``--pull`` says (docker's default: when the
engine lacks it), the image is pulled with its progress on the card (``workers.image_pull``).
"""

from __future__ import annotations

from dockbolt.core.args import RunArgs, ownership_labels
from dockbolt.core.buttons import container_buttons
from workers import image_pull, messages, run_guard
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: RunArgs) -> Reply:
    """Start a container from the run args and report its id and name."""
    spec = run_guard.ready(args, ctx.guardrails, ctx.docker_host)
    fetched = image_pull.before_run(ctx.docker, args.image, args.pull, ctx.progress)
    # RunArgs refuses user labels under the reserved prefix, so the ownership labels can be trusted.
    ctx.progress(f"starting a container from {args.image}…")
    result = ctx.docker.run(spec, ownership_labels(ctx.job.user_id, ctx.job.job_id))
    done = messages.run_done(result, args.image)
    return Reply(text=done if fetched is None else f"{image_pull.pulled(args.image, fetched)}\n{done}",
                 buttons=tuple(container_buttons(result.name, running=True, host=ctx.job.host)))


HANDLERS = (Handler("run", RunArgs, handle),)
