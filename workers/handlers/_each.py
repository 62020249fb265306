"""Shared by the multi-name verbs (stop, start, restart, rm): act on every name, report per name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dockbolt.core.errors import ContractError, UserError
from workers import messages
from workers.handlers.base import HandlerContext
from workers.reply import Reply

# The Docker CLI also acts on all names at once; a small cap keeps a long list from flooding the engine.
MAX_PARALLEL = 8


def names_arg(args: Mapping[str, Any]) -> list[str]:
    """The ``names`` argument as a list of strings (the contract guarantees a non-empty list)."""
    names = args.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ContractError(f"'names' must be a non-empty list of strings, got {names!r}")
    return names


def timeout_arg(args: Mapping[str, Any]) -> int | None:
    """The optional ``timeout`` argument (seconds)."""
    timeout = args.get("timeout")
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool)):
        raise ContractError(f"'timeout' must be an integer or null, got {timeout!r}")
    return timeout


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
    return Reply(text=messages.per_name_result(past, done, failed), ok=not failed)
