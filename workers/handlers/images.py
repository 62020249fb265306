"""``images``: the local images table."""

from __future__ import annotations

import time

from dockbolt.core.args import NoArgs
from workers import formatting, messages
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: NoArgs) -> Reply:
    """List local images like ``docker images``."""
    images = ctx.docker.list_images()
    grid = formatting.images_table(images, now=time.time())
    return Reply(text=messages.images_summary(len(images)), body=grid.render(), filename="images.txt",
                 table=grid)


HANDLERS = (Handler("images", NoArgs, handle),)
