"""``inspect NAME``: a container's (or image's) inspect document, environment values and secrets masked.

Masked here, on the document, where it is known which strings are environment entries, command-line
items or labels (``Redactor.mask_document``, with the config's extra patterns); the reporter and the
Slack client then mask the JSON text once more like any reply.
"""

from __future__ import annotations

from dockbolt.core.args import NameArgs
from dockbolt.core.redact import Redactor
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
        body=formatting.inspect_json(doc, Redactor(ctx.guardrails.redact)),
        filename=messages.safe_filename(args.name, ".json"),
    )


HANDLERS = (Handler("inspect", NameArgs, handle, in_process=True),)
