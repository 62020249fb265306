"""Stats history in Redis (filled by the watcher, read by `stats`): see ``StatsHistory``.

Per host and container name, three Redis streams hold the samples, entry ids being the sample times in
milliseconds (so XRANGE by time is the id range, and MINID trims by age):

- ``dockbolt:stats:<host>:<name>:r``  every sample, kept ``raw_retention``
- ``dockbolt:stats:<host>:<name>:m``  1-minute averages, kept ``minute_retention``
- ``dockbolt:stats:<host>:<name>:q``  15-minute averages, kept ``quarter_retention``
- ``dockbolt:stats:<host>:latest``    hash name → JSON [image, t, cpu, mem, …]: the newest sample of each

Fields are one letter and values integers (CPU in hundredths of a percent, sizes in KiB): a stream stores
small integers in a few bytes and the field names once per node, ≈ 64 bytes an entry with bytes and
floats became ≈ 52 (measured: ``bench.statsbench``). Each write renews its key's expiry to the tier's
retention, so the history of a removed container disappears by itself. Downsampling happens as samples
arrive: the first sample of a new minute closes the previous minute, which is averaged into ``m``; the
first minute of a new quarter hour closes the previous one likewise into ``q``. CPU %, memory and pids
are averaged; the memory limit and the counters (net, block I/O: totals since the container started) take
the bucket's last value. Times are the samples' own (``Sample.t``), so tests can fill a week in a second.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from dockbolt.core.monitor import MonitorConfig

PREFIX = "dockbolt:stats:"
MINUTE, QUARTER = 60, 900
_KIB = 1024.0
_FIELDS = (b"c", b"m", b"l", b"r", b"t", b"b", b"w", b"p")


@dataclass(frozen=True)
class Sample:
    """One container's usage at ``t`` (unix seconds), in the units and the arithmetic of ``docker stats``."""

    t: float
    cpu: float  # CPU %, 100 = one core
    mem: float  # bytes in use, page cache excluded (as the CLI)
    mem_limit: float  # bytes (the host's memory when unlimited)
    net_rx: float  # bytes received since the container started, all interfaces
    net_tx: float
    blk_read: float  # bytes
    blk_write: float
    pids: int = 0


def _encode(s: Sample) -> dict[bytes, int]:
    values = (s.cpu * 100, s.mem / _KIB, s.mem_limit / _KIB, s.net_rx / _KIB, s.net_tx / _KIB,
              s.blk_read / _KIB, s.blk_write / _KIB, s.pids)
    return {k: round(v) for k, v in zip(_FIELDS, values, strict=True)}


def _seconds(entry_id: Any) -> float:
    """The time of a stream entry id ("<ms>-<seq>", bytes from redis-py)."""
    return int(bytes(entry_id).split(b"-")[0]) / 1000


def _decode(entries: Any) -> list[Sample]:
    """Stream entries (XRANGE's answer) as samples."""
    out = []
    for entry_id, fields in entries or ():
        v = [float(fields.get(k, 0)) for k in _FIELDS]
        out.append(Sample(t=_seconds(entry_id), cpu=v[0] / 100, mem=v[1] * _KIB, mem_limit=v[2] * _KIB,
                          net_rx=v[3] * _KIB, net_tx=v[4] * _KIB, blk_read=v[5] * _KIB, blk_write=v[6] * _KIB,
                          pids=int(v[7])))
    return out


def average(samples: Sequence[Sample], t: float) -> Sample:
    """One sample at ``t`` for a bucket: CPU, memory and pids averaged, limit and counters the last ones."""
    n, last = len(samples), samples[-1]
    return Sample(t=t, cpu=sum(s.cpu for s in samples) / n, mem=sum(s.mem for s in samples) / n,
                  mem_limit=last.mem_limit, net_rx=last.net_rx, net_tx=last.net_tx, blk_read=last.blk_read,
                  blk_write=last.blk_write, pids=round(sum(s.pids for s in samples) / n))


class StatsHistory:
    """One host's stats history: the watcher ``add``s samples, `stats` reads ``latest`` and ``series``."""

    def __init__(self, redis: Redis, host: str, config: MonitorConfig) -> None:
        self.redis, self.host, self.config = redis, host, config
        self.latest_key = f"{PREFIX}{host}:latest"
        # Entries of the latest hash older than this are dropped when read (a container gone between two
        # ticks is also dropped by ``forget_except``); the hash itself expires when nothing writes.
        self.latest_ttl = max(60, 6 * config.interval)
        self._last_t: dict[str, float] = {}  # name → time of the newest raw sample written by this process

    def key(self, name: str, tier: str) -> str:
        """The stream of ``name``'s samples in ``tier``: "r" (raw), "m" (minutes) or "q" (quarter hours)."""
        return f"{PREFIX}{self.host}:{name}:{tier}"

    def add(self, name: str, image: str, sample: Sample) -> bool:
        """Store a sample (and roll a completed minute / quarter hour into the next tier); False when it is
        not newer than the container's last one (kept out: stream ids only grow)."""
        last = self._last(name)
        if last is not None and int(sample.t * 1000) <= int(last * 1000):
            return False
        pipe = self.redis.pipeline(transaction=False)
        self._append(pipe, name, "r", sample, self.config.raw_retention)
        record = [image, sample.t, sample.cpu, sample.mem, sample.mem_limit, sample.net_rx, sample.net_tx,
                  sample.blk_read, sample.blk_write, sample.pids]
        pipe.hset(self.latest_key, name, json.dumps(record))
        pipe.expire(self.latest_key, self.latest_ttl)
        pipe.execute()
        self._last_t[name] = sample.t
        if last is not None and last // MINUTE != sample.t // MINUTE:
            start = last // MINUTE * MINUTE
            self._roll(name, "r", "m", start, MINUTE, self.config.minute_retention)
            if last // QUARTER != sample.t // QUARTER:
                start = last // QUARTER * QUARTER
                self._roll(name, "m", "q", start, QUARTER, self.config.quarter_retention)
        return True

    def _last(self, name: str) -> float | None:
        if name not in self._last_t:  # a restarted watcher goes on from what Redis has
            newest = self.redis.xrevrange(self.key(name, "r"), count=1)
            if not newest:
                return None
            self._last_t[name] = _seconds(newest[0][0])
        return self._last_t[name]

    def _append(self, pipe: Redis, name: str, tier: str, sample: Sample, retention: int) -> None:
        key = self.key(name, tier)
        oldest = max(0, int((sample.t - retention) * 1000))
        pipe.xadd(key, _encode(sample), id=f"{int(sample.t * 1000)}-0",  # type: ignore[arg-type]
                  minid=oldest, approximate=True)
        pipe.expire(key, retention)

    def _roll(self, name: str, source: str, target: str, start: float, width: int, retention: int) -> None:
        """Average ``source``'s bucket [start, start + width) into one entry of ``target``."""
        end = int((start + width) * 1000) - 1
        samples = _decode(self.redis.xrange(self.key(name, source), int(start * 1000), end))
        if not samples:
            return
        pipe = self.redis.pipeline(transaction=False)
        self._append(pipe, name, target, average(samples, start), retention)
        # A bucket already there (two writers for one host) is refused by XADD: the first one stays.
        with contextlib.suppress(ResponseError):
            pipe.execute()

    def forget_except(self, names: Collection[str]) -> None:
        """Drop the latest samples of containers not in ``names`` (the ones running now)."""
        keys: Any = self.redis.hkeys(self.latest_key)
        gone = [n for n in (k.decode() for k in keys) if n not in names]
        if gone:
            self.redis.hdel(self.latest_key, *gone)
        for name in gone:
            self._last_t.pop(name, None)

    def latest(self, max_age: float, now: float | None = None) -> dict[str, tuple[str, Sample]]:
        """Each container's newest sample (name → (image, sample)) no older than ``max_age`` seconds."""
        now = time.time() if now is None else now
        found: dict[str, tuple[str, Sample]] = {}
        stale: list[str] = []
        raw_items: Any = self.redis.hgetall(self.latest_key)
        for raw_name, raw in raw_items.items():
            name = raw_name.decode()
            image, t, *values = json.loads(raw)
            if now - t > self.latest_ttl:
                stale.append(name)
            elif now - t <= max_age:
                cpu, mem, limit, rx, tx, blk_read, blk_write, pids = values
                found[name] = (str(image), Sample(float(t), cpu, mem, limit, rx, tx, blk_read, blk_write,
                                                  int(pids)))
        if stale:
            self.redis.hdel(self.latest_key, *stale)
        return found

    def series(self, name: str, since: float, now: float | None = None) -> list[Sample]:
        """``name``'s samples from ``since`` to ``now``, oldest first, from the finest tier that still holds
        that whole range (raw, else 1-minute, else 15-minute averages)."""
        now = time.time() if now is None else now
        age = now - since
        tier = ("r" if age <= self.config.raw_retention
                else "m" if age <= self.config.minute_retention else "q")
        return _decode(self.redis.xrange(self.key(name, tier), max(0, int(since * 1000)), int(now * 1000)))

    def keys_of(self, name: str) -> list[str]:
        """The Redis keys holding ``name``'s history (for measuring and tests)."""
        return [self.key(name, tier) for tier in ("r", "m", "q")]
