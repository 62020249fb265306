"""Stats history in Redis (filled by the watcher, read by `stats`): see ``StatsHistory``."""

from __future__ import annotations

from dataclasses import dataclass


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
