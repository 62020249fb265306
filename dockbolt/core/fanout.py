"""`ps @all`: one job per live host, one merged table in one thread.

The bot records a parent job (the card and the thread the user sees) and queues a child job on every
live host's queue (``JobRequest.parent``). A child does not reply: its worker stores the host's *part*
here (summary line and table cells, already masked). Whoever stores the last part — a worker, or the
bot's reaper failing a child whose host lost its workers — posts the merged table, with a HOST column,
into the parent's thread and closes the parent's card. Storing a part and reading all parts is one
MULTI, so exactly one of them sees the set complete.

- ``dockbolt:fanout:<parent>``  hash: ``hosts`` (JSON list, in order) and ``part:<host>`` (JSON part)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.mrkdwn import code
from dockbolt.core.outbox import Outbox
from dockbolt.core.output import write_output
from dockbolt.core.tables import Table

KEEP_SECONDS = 24 * 3600
HOST_HEADER = "HOST"


def _key(parent: str) -> str:
    return f"dockbolt:fanout:{parent}"


@dataclass(frozen=True)
class Part:
    """One host's share: its summary line (or why there is none) and its table."""

    host: str
    ok: bool
    text: str
    table: Table | None = None

    def to_json(self) -> str:
        """As stored."""
        return json.dumps({"host": self.host, "ok": self.ok, "text": self.text,
                           "table": self.table.to_dict() if self.table is not None else None})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Part:
        """From ``to_json``'s output."""
        d = json.loads(raw)
        return cls(host=str(d["host"]), ok=bool(d["ok"]), text=str(d["text"]),
                   table=Table.from_dict(d["table"]) if d.get("table") else None)


def merge(parts: list[Part]) -> tuple[str, Table | None]:
    """The merged reply: one summary line per host, and every host's rows under a HOST column."""
    lines = [f"{len(parts)} host{'' if len(parts) == 1 else 's'}:"]
    lines += [f"• {code(p.host)}: {p.text}" for p in parts]
    tables = [(p.host, p.table) for p in parts if p.table is not None and p.table.rows]
    if not tables:  # no host has a row to show: no table (a lone header row said nothing)
        return "\n".join(lines), None
    headers = (HOST_HEADER, *tables[0][1].headers)
    rows = [(host, *row) for host, t in tables for row in t.rows if len(row) == len(headers) - 1]
    return "\n".join(lines), Table.of(headers, rows)


class FanOut:
    """Opens a fan-out (bot, in the accept's MULTI) and completes its parts (worker or reaper)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def open(self, parent: str, hosts: list[str], pipe: Pipeline) -> None:
        """Expect a part from each of ``hosts``."""
        pipe.hset(_key(parent), "hosts", json.dumps(hosts))
        pipe.expire(_key(parent), KEEP_SECONDS)

    def complete(self, parent: str, part: Part) -> list[Part] | None:
        """Store ``part`` (once per host); every part, in host order, when it was the last one."""
        pipe = self.redis.pipeline()
        pipe.hsetnx(_key(parent), f"part:{part.host}", part.to_json())
        pipe.hgetall(_key(parent))
        added, raw = pipe.execute()
        fields = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}
        if not added or "hosts" not in fields:
            return None
        hosts: list[str] = json.loads(fields["hosts"])
        if any(f"part:{h}" not in fields for h in hosts):
            return None
        return [Part.from_json(fields[f"part:{h}"]) for h in hosts]

    def finish(self, job: JobRequest, part: Part) -> bool:
        """``complete`` the part of ``job`` (a fan-out's child), and when it was the last: the merged reply
        into the parent's thread and the parent's card closed (done when every host answered, else
        failed). True when it closed it."""
        parent, filename = job.parent, f"{job.verb}.txt"
        parts = self.complete(parent, part)
        if parts is None:
            return False
        store, outbox = JobStore(self.redis), Outbox(self.redis)
        text, grid = merge(parts)
        write_output(outbox, parent, text, grid.render() if grid is not None else None, filename)
        failed = [p.host for p in parts if not p.ok]
        status = JobStatus.FAILED if failed else JobStatus.DONE
        detail = f"no answer from {', '.join(failed)}" if failed else ""
        rec = store.get(parent)
        elapsed = None if rec is None else max(0.0, redis_time(self.redis) - rec.request.queued_at)
        store.set_status(parent, status, detail)
        outbox.card(parent, status, elapsed=elapsed, detail=detail)
        return True
