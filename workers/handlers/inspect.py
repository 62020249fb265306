"""``inspect NAME``: a container's (or image's) inspect document, environment values masked."""

from __future__ import annotations

from dockbolt.core.args import NameArgs
from workers import formatting, messages
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply


def handle(ctx: HandlerContext, args: NameArgs) -> Reply:
    """Return the inspect JSON of a container, or of an image when no container has that name."""
    doc = ctx.docker.inspect(args.name)
    # Only container documents carry a State; image documents do not.
    kind = "container" if "State" in doc else "image"
    return Reply(
        text=messages.inspect_summary(args.name, kind),
        body=formatting.inspect_json(doc),
        filename=messages.safe_filename(args.name, ".json"),
    )


HANDLERS = (Handler("inspect", NameArgs, handle),)
