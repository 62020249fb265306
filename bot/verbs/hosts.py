"""`hosts`: the Docker hosts whose workers registered, their load, and whether a worker serves them now.

Answered by the bot from Redis (``dockbolt.core.hosts``): each worker beats every 15 s with what its
engine says; a host none of whose workers beat for a minute is listed as having no live worker.
"""

from __future__ import annotations

from bot.messages import ago
from bot.verbs.base import LocalContext, VerbSpec
from dockbolt.core.hosts import HostState
from dockbolt.core.mrkdwn import code_block

GIB = 1024**3
HEADER = ["HOST", "WORKERS", "RUNNING", "CPUS", "MEMORY", "ENGINE", "LAST SEEN"]


def _row(h: HostState) -> list[str]:
    i = h.info
    return [i.name, str(h.workers) if h.workers else "none", f"{i.running}/{i.containers}", str(i.cpus),
            f"{i.memory / GIB:.1f}GiB", i.engine, ago(h.age)]


def answer(ctx: LocalContext) -> str:
    """The table of hosts."""
    if ctx.hosts is None:
        return "hosts are unavailable (no Redis)."
    hosts = ctx.hosts.all()
    if not hosts:
        return "No host has registered yet: start `dockbolt worker` with access to a Docker engine."
    rows = [HEADER] + [_row(h) for h in hosts]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    table = "\n".join("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                      for r in rows)
    dead = [h.info.name for h in hosts if not h.workers]
    note = (f"\nNo live worker: {', '.join(dead)} — commands for it are refused until one starts." if dead
            else "")
    return f"*{len(hosts)} host{'s' if len(hosts) != 1 else ''}:*\n{code_block(table)}{note}"


SPECS = (
    VerbSpec(name="hosts", summary="List the Docker hosts: load, engine, and whether a worker serves them",
             usage="hosts", default_role="viewer", answer=answer),
)
