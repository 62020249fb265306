"""``build -t TAG [-f DOCKERFILE] [--build-arg K=V]… [--no-cache] CONTEXT``: clone or read the context
(``workers.build_context``), stream the builder's output — the card shows the current step, no more
often than the reporter's throttle allows — and hand back the whole log (a file in the thread when long).
A failed build names the failing step and shows its last lines.
"""

from __future__ import annotations

import re

from dockbolt.core.args import BuildArgs, ownership_labels
from dockbolt.core.errors import DockerError
from workers import build_context, messages
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply

MAX_LOG_CHARS = 2 * 1024 * 1024  # the log kept for the thread: the newest part of a huge one
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$", re.MULTILINE)


class BuildLog:
    """The builder's output as it streams: the newest MAX_LOG_CHARS of it, and the current step."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.lines = 0
        self.step = ""  # "4/12 : RUN make"
        self.steps = 0

    def add(self, chunk: str) -> str | None:
        """Keep ``chunk``; return a progress line when it starts a new step."""
        self.parts.append(chunk)
        self.size += len(chunk)
        self.lines += chunk.count("\n")
        while self.size > MAX_LOG_CHARS and len(self.parts) > 1:
            self.size -= len(self.parts.pop(0))
        found = list(_STEP_RE.finditer(chunk))
        if not found:
            return None
        last = found[-1]
        self.step, self.steps = f"{last[1]}/{last[2]} : {last[3][:80]}", int(last[1])
        return f"building step {last[1]}/{last[2]}: {last[3][:80]}"

    def text(self) -> str:
        return "".join(self.parts)


def handle(ctx: HandlerContext, args: BuildArgs) -> Reply:
    """Build the image; the reply carries the builder's log."""
    log = BuildLog()

    def on_output(chunk: str) -> None:
        step = log.add(chunk)
        if step is not None:
            ctx.progress(step)

    filename = messages.safe_filename(args.tag.replace(":", "-").replace("/", "-"), ".build.log")
    with build_context.prepared(args.context, args.dockerfile, ctx.build, ctx.progress) as src:
        build_context.check_bases(src, args.build_args, ctx.guardrails)
        ctx.progress("sending the build context to the builder…")
        try:
            image_id = ctx.docker.build(src.path, tag=args.tag, dockerfile=src.dockerfile,
                                        build_args=args.build_args,
                                        no_cache=args.no_cache,
                                        labels=ownership_labels(ctx.job.user_id, ctx.job.job_id),
                                        on_output=on_output)
        except DockerError as exc:
            return Reply(text=messages.build_failed(args.tag, log.step, str(exc)), body=log.text() or None,
                         filename=filename, ok=False, log=True)
    return Reply(text=messages.built(args.tag, image_id, log.steps, log.lines), body=log.text() or None,
                 filename=filename, log=True)


HANDLERS = (Handler("build", BuildArgs, handle),)
