"""``pull IMAGE``: fetch the image from its registry (the worker's credentials), progress on the card."""

from __future__ import annotations

from dockbolt.core.args import PullArgs
from workers import image_pull
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: PullArgs) -> Reply:
    """Pull the image; answer with its digest and size (a refusal is Docker's error, raised)."""
    result = image_pull.pull(ctx.docker, args.image, ctx.progress)
    return Reply(text=image_pull.pulled(args.image, result))


HANDLERS = (Handler("pull", PullArgs, handle),)
