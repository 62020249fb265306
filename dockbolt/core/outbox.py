"""The Slack outbox: every report on a job is written to Redis first and delivered from there.

Bot and workers never talk to Slack about a job directly: they add an entry to the job's outbox (one
Redis call, never a wait on Slack) and a ``Deliverer`` (``dockbolt.core.delivery``, running in the bot
and in every worker process) sends it. So a Slack outage or a process restart delays a report, never
loses it, and a job's outcome is decided by Docker alone.

- ``dockbolt:outbox:<job>``          list of pending entries (JSON), oldest first: delivered in this order
- ``dockbolt:outbox:due``            sorted set job id → when its first entry may be tried (Redis ``TIME``)
- ``dockbolt:outbox:lock:<job>``     the one deliverer sending this job's entries (so order holds)
- ``dockbolt:outbox:wake``           a short list idle deliverers block on, pushed with every entry
- ``dockbolt:outbox:undeliverable``  how many entries were given up (too old, or refused by Slack)
- ``dockbolt:outbox:pause``          set for Retry-After seconds after a 429: no deliverer sends meanwhile

Entries are masked before they are written (the caller's ``Redactor``): no secret sits in Redis. A card
edit added behind another pending card edit replaces it (only the newest state of a card matters), but the
entry at the head, which a deliverer may be sending right now, is never rewritten.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from dockbolt.core.buttons import Button
from dockbolt.core.contract import JobStatus

PREFIX = "dockbolt:outbox:"
DUE = PREFIX + "due"
WAKE = PREFIX + "wake"
UNDELIVERABLE = PREFIX + "undeliverable"
PAUSE = PREFIX + "pause"
KEEP_SECONDS = 7 * 24 * 3600  # a job's pending entries outlive any delivery deadline
# Longer than one send takes (a file upload is three Slack calls of at most 10 s each, usually far less);
# a deliverer that died holding a lock holds up that job's reports this long.
LOCK_MS = 20_000

# Stamp the entry with the server's clock, merge a card (or announcement) edit into a pending one of the
# same kind behind the head, append,
# mark the job due (unless it already waits for a retry: NX) and wake one idle deliverer. Only card
# entries (small) are decoded; any other (a 2 MiB log file) is stamped by splicing "at" into its text.
_PUSH_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = redis.call('LLEN', KEYS[1])
local merged = false
local stored
if ARGV[4] == 'card' or ARGV[4] == 'announce' then
  local e = cjson.decode(ARGV[1])
  e['at'] = now
  if n >= 2 then
    local last = cjson.decode(redis.call('LINDEX', KEYS[1], -1))
    if last['op'] == e['op'] then
      if e['text'] == '' then e['text'] = last['text'] end
      e['at'] = last['at']
      redis.call('LSET', KEYS[1], -1, cjson.encode(e))
      merged = true
    end
  end
  stored = cjson.encode(e)
else
  stored = '{"at": ' .. string.format('%.6f', now) .. ', ' .. string.sub(ARGV[1], 2)
end
if not merged then redis.call('RPUSH', KEYS[1], stored) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, 255)
return n + (merged and 0 or 1)
"""

_DUE_LUA = """
local t = redis.call('TIME')
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) + tonumber(t[2]) / 1000000,
                  'LIMIT', 0, tonumber(ARGV[1]))
"""

_LATER_LUA = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[2]), ARGV[1])
"""

# The job leaves the due set only when nothing is pending (an entry pushed meanwhile keeps it there).
_SETTLED_LUA = """
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) return 1 end
return 0
"""

_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    """One pending report: a card state, a thread message, a file, or an announcement.

    ``text`` is the message (``post``, ``announce``), what to say by response_url when the card cannot be
    posted (``card``), or the short version for a job without a thread (``file``). An ``announce`` entry
    posts (then edits) the job's one announcement in ``channel``; ``to="announce"`` sends a ``post`` or
    ``file`` into that announcement's thread instead of the card's. A binary file's ``content`` is base64
    (``encoding="base64"``): text is masked before it is written, binary is not (base64 is no text to mask).
    """

    op: str  # "card" | "post" | "file" | "announce"
    status: str = ""
    elapsed: float | None = None
    detail: str = ""
    text: str = ""
    content: str = ""
    filename: str = ""
    comment: str = ""
    channel: str = ""
    to: str = ""
    encoding: str = ""  # "" (text) | "base64" (a binary file's content)
    buttons: list[dict[str, str]] | None = None  # ``dockbolt.core.buttons.Button`` dicts (card, announce)
    at: float = 0.0  # when it was written, on the Redis server's clock
    tries: int = 0

    def upload_content(self) -> str | bytes:
        """A ``file`` entry's content as it is to be uploaded: bytes for a binary file, else its text."""
        return base64.b64decode(self.content) if self.encoding == "base64" else self.content

    def to_json(self, *, stamped: bool = False) -> str:
        """The entry as stored; without ``at`` unless ``stamped`` (a new entry: the server stamps it)."""
        # Shallow (``asdict`` deep-copies every button): json.dumps copies nothing either.
        fields = ((k, getattr(self, k)) for k in self.__dataclass_fields__)
        d = {k: v for k, v in fields if v is not None and (v != "" or k == "text")}
        if not stamped:
            del d["at"]
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Entry:
        """Read a stored entry (unknown keys, from a newer writer, are ignored)."""
        d = json.loads(raw)
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and d[k] is not None}
        return cls(**known)


def _key(job_id: str) -> str:
    return PREFIX + job_id


def _lock_key(job_id: str) -> str:
    return f"{PREFIX}lock:{job_id}"


class Outbox:
    """Writes entries for a job (bot and workers) and hands them to a deliverer in order."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    # -- writing ----------------------------------------------------------------------------------------
    def push(self, job_id: str, entry: Entry, pipe: Pipeline | None = None) -> None:
        """Add ``entry`` behind the job's pending ones (on ``pipe`` when given: sent by the caller)."""
        # EVAL, not EVALSHA: inside the bot's MULTI a NOSCRIPT would fail this command alone.
        target: Redis | Pipeline = self.redis if pipe is None else pipe
        target.eval(_PUSH_LUA, 3, _key(job_id), DUE, WAKE, entry.to_json(), job_id, KEEP_SECONDS, entry.op)

    def card(self, job_id: str, status: JobStatus, *, elapsed: float | None = None, detail: str = "",
             closed_text: str = "", pipe: Pipeline | None = None, buttons: Sequence[Button] = ()) -> None:
        """Show ``status`` on the job's card (posting the card first if it is not there yet), with
        ``buttons`` under it."""
        self.push(job_id, Entry("card", status=status.value, elapsed=elapsed, detail=detail,
                                text=closed_text, buttons=[b.to_dict() for b in buttons] or None), pipe)

    def post(self, job_id: str, text: str, *, to: str = "") -> None:
        """Post ``text`` into the job's thread (or to its response_url when it has no thread); with
        ``to="announce"``, into its announcement's thread."""
        self.push(job_id, Entry("post", text=text, to=to))

    def file(self, job_id: str, *, content: str = "", filename: str, comment: str, fallback: str,
             to: str = "", data: bytes | None = None) -> None:
        """Upload ``content`` (or the bytes ``data``) into the thread with ``comment``; ``fallback`` is said
        when there is none."""
        encoding = ""
        if data is not None:
            content, encoding = base64.b64encode(data).decode("ascii"), "base64"
        self.push(job_id, Entry("file", content=content, filename=filename, comment=comment, text=fallback,
                                to=to, encoding=encoding))

    def announce(self, job_id: str, channel: str, text: str, pipe: Pipeline | None = None,
                 buttons: Sequence[Button] | None = None) -> None:
        """Post the job's announcement in ``channel``, or edit it to ``text`` once it is there; with
        ``buttons`` (even none: an edit that takes earlier buttons away) it is a Block Kit message."""
        self.push(job_id, Entry("announce", channel=channel, text=text,
                                buttons=None if buttons is None else [b.to_dict() for b in buttons]), pipe)

    # -- delivering -------------------------------------------------------------------------------------
    def due(self, limit: int = 64) -> list[str]:
        """Jobs whose first pending entry may be tried now (Redis server time)."""
        return [v.decode() if isinstance(v, bytes) else str(v)
                for v in self.redis.eval(_DUE_LUA, 1, DUE, limit)]

    def wait(self, timeout: float) -> None:
        """Block until an entry is pushed somewhere (or ``timeout`` seconds pass)."""
        self.redis.blpop([WAKE], timeout=timeout)

    @contextmanager
    def locked(self, job_id: str) -> Iterator[str | None]:
        """Hold the job's delivery lock (its token), or yield None when another deliverer holds it."""
        token = secrets.token_hex(8)
        key = _lock_key(job_id)
        if not self.redis.set(key, token, nx=True, px=LOCK_MS):
            yield None
            return
        try:
            yield token
        finally:
            self.redis.eval(_UNLOCK_LUA, 1, key, token, 0)

    def still_locked(self, job_id: str, token: str) -> bool:
        """Extend the lock before the next send; False when it was lost (expired and taken)."""
        return bool(self.redis.eval(_UNLOCK_LUA, 1, _lock_key(job_id), token, LOCK_MS))

    def head(self, job_id: str) -> Entry | None:
        """The job's oldest pending entry."""
        raw = self.redis.lindex(_key(job_id), 0)
        return None if raw is None else Entry.from_json(raw)

    def done_with_head(self, job_id: str) -> None:
        """Drop the head entry (sent, or given up); only the lock holder calls this."""
        self.redis.lpop(_key(job_id))

    def retry_head(self, job_id: str, entry: Entry, delay: float) -> None:
        """Keep the head for another try in ``delay`` seconds (the entries behind it wait: order)."""
        pipe = self.redis.pipeline()
        pipe.lset(_key(job_id), 0, entry.to_json(stamped=True))
        pipe.eval(_LATER_LUA, 1, DUE, job_id, delay)
        pipe.execute()

    def settled(self, job_id: str) -> bool:
        """Leave the due set if nothing is pending; False when an entry arrived meanwhile."""
        return bool(self.redis.eval(_SETTLED_LUA, 2, _key(job_id), DUE, job_id))

    def drop(self, job_id: str) -> int:
        """Forget every pending entry of a job (its record is gone); how many there were."""
        pipe = self.redis.pipeline()
        pipe.llen(_key(job_id))
        pipe.delete(_key(job_id))
        pipe.zrem(DUE, job_id)
        return int(pipe.execute()[0])

    def pause(self, seconds: float) -> None:
        """Hold every deliverer, in every process, for ``seconds`` (Slack said 429: Retry-After)."""
        ms = max(1, int(seconds * 1000))
        pipe = self.redis.pipeline()
        pipe.set(PAUSE, "1", px=ms, nx=True)  # a longer pause already set is kept…
        pipe.pexpire(PAUSE, ms, gt=True)  # …and a shorter one is extended
        pipe.execute()

    def paused(self) -> float:
        """Seconds left of a pause (0 when deliverers may send)."""
        ms = int(self.redis.pttl(PAUSE))
        return ms / 1000 if ms > 0 else 0.0

    def given_up(self, count: int = 1) -> None:
        """Count entries that will never be delivered."""
        self.redis.incrby(UNDELIVERABLE, count)

    def pending(self, job_id: str) -> int:
        """How many entries of the job are waiting."""
        return int(self.redis.llen(_key(job_id)))

    def backlog(self) -> tuple[int, int]:
        """(jobs with pending entries, entries given up so far): for `dockbolt check` and the bench."""
        pipe = self.redis.pipeline()
        pipe.zcard(DUE)
        pipe.get(UNDELIVERABLE)
        jobs, lost = pipe.execute()
        return int(jobs), int(lost or 0)
