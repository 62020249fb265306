"""``run [flags] IMAGE [COMMAND...]``: create and start a labelled container (detached, like ``-d``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from workers import messages
from workers.docker_port import RunSpec
from workers.handlers.base import HandlerContext
from workers.reply import Reply

RESERVED_PREFIX = "dockbolt."


def ownership_labels(user_id: str, job_id: str) -> dict[str, str]:
    """The labels that mark a container as dockbolt's, with who created it and in which job."""
    return {"dockbolt.managed": "true", "dockbolt.created-by": user_id, "dockbolt.job": job_id}


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Start a container from the run args and report its id and name."""
    spec = RunSpec.from_args(args)
    # The bot already refuses reserved labels; dropping them here too keeps ownership labels trustworthy.
    user_labels = {k: v for k, v in spec.labels.items() if not k.startswith(RESERVED_PREFIX)}
    spec = dataclasses.replace(spec, labels=user_labels)
    ctx.progress(f"starting a container from {spec.image}…")
    result = ctx.docker.run(spec, ownership_labels(ctx.job.user_id, ctx.job.job_id))
    return Reply(text=messages.run_done(result, spec.image))
