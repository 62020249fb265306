"""``start``, ``stop``, ``restart``, ``rm``: one engine call per name, in parallel, reported per name.

The four verbs differ only in the engine call (a table, as docker-py maps ``run()`` kwargs), so they
share this module; the bot side is ``bot/verbs/lifecycle.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dockbolt.core.args import NamesArgs, RmArgs, StopArgs
from dockbolt.core.buttons import Button, container_buttons, container_menu
from dockbolt.core.errors import UserError
from workers import messages
from workers.docker_port import DockerPort
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply

# The Docker CLI also acts on all names at once; a small cap keeps a long list from flooding the engine.
MAX_PARALLEL = 8


def for_each(
    ctx: HandlerContext, names: Sequence[str], act: Callable[[str], None], doing: str, past: str
) -> Reply:
    """Run ``act`` on every name in parallel; the Reply lists successes and Docker's error per failure."""
    ctx.progress(f"{doing} {', '.join(names)}…")
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(names))) as pool:
        futures = [pool.submit(act, name) for name in names]
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for name, future in zip(names, futures, strict=True):
        try:
            future.result()
        except UserError as exc:  # DockerUnavailable and bugs propagate to the runner
            failed.append((name, str(exc)))
        else:
            done.append(name)
    return Reply(text=messages.per_name_result(past, done, failed), ok=not failed,
                 buttons=_next(ctx.job.verb, done, ctx.job.host))


def _next(verb: str, done: Sequence[str], host: str) -> tuple[Button, ...]:
    """What the card offers for the containers acted on: Logs, Restart, Stop or Start (nothing after rm)."""
    if verb == "rm" or not done:
        return ()
    running = verb != "stop"
    if len(done) == 1:
        return tuple(container_buttons(done[0], running, host))
    return tuple(container_menu(((name, running) for name in done), host))


N = TypeVar("N", bound=NamesArgs)


def _verb(
    verb: str, args: type[N], doing: str, past: str, call: Callable[[DockerPort, str, N], None]
) -> Handler[N]:
    def run(ctx: HandlerContext, a: N) -> Reply:
        return for_each(ctx, a.names, lambda name: call(ctx.docker, name, a), doing, past)

    return Handler(verb, args, run)


HANDLERS = (
    _verb("start", NamesArgs, "starting", "Started", lambda d, name, a: d.start(name)),
    _verb("stop", StopArgs, "stopping", "Stopped", lambda d, name, a: d.stop(name, a.timeout)),
    _verb("restart", StopArgs, "restarting", "Restarted", lambda d, name, a: d.restart(name, a.timeout)),
    _verb("rm", RmArgs, "removing", "Removed", lambda d, name, a: d.remove(name, a.force)),
)
