"""``images [--format ...]``: the local images, as a compact table (the default), the CLI's table
(``--format table``) or a ``{{.Field}}`` template."""

from __future__ import annotations

import time

from dockbolt.core import goformat
from dockbolt.core.args import ImagesArgs
from dockbolt.core.tables import Table
from workers import formatting, messages
from workers.docker_port import ImageSummary
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: ImagesArgs) -> Reply:
    """List local images like ``docker images``."""
    images = ctx.docker.list_images()
    grid = grid_of(args.format, images, now=time.time())
    return Reply(text=messages.images_summary(len(images)),
                 body=(grid.render() or None) if images or args.format else None, filename="images.txt",
                 table=grid)


def grid_of(fmt: str, images: list[ImageSummary], now: float) -> Table:
    """The table ``fmt`` asks for ("" compact, "table" the CLI's, else a checked template)."""
    if not fmt:
        return formatting.images_compact_table(images, now)
    if goformat.is_cli_table(fmt):
        return formatting.images_table(images, now)
    template = goformat.parse(fmt, goformat.IMAGES_FIELDS, goformat.IMAGES_NOT_YET)
    return goformat.render(template, goformat.IMAGES_FIELDS, formatting.images_fields(images, now))


HANDLERS = (Handler("images", ImagesArgs, handle, in_process=True),)
