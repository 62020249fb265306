"""The numbers the ``docker stats`` CLI shows, computed from one raw stats sample. Pure functions.

The arithmetic follows docker/cli ``stats_helpers.go``; ``workers.formatting.stats_row`` formats a row
like the CLI (go-units).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _num(d: Mapping[str, Any] | None, key: str) -> float:
    value = (d or {}).get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def cpu_percent(sample: Mapping[str, Any]) -> float:
    """CPU %: container delta over system delta since ``precpu_stats``, times online CPUs."""
    cpu = sample.get("cpu_stats") or {}
    pre = sample.get("precpu_stats") or {}
    cpu_delta = _num(cpu.get("cpu_usage"), "total_usage") - _num(pre.get("cpu_usage"), "total_usage")
    system_delta = _num(cpu, "system_cpu_usage") - _num(pre, "system_cpu_usage")
    online = _num(cpu, "online_cpus")
    if online == 0.0:
        # Engines before API 1.27 do not send online_cpus.
        online = float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_used(sample: Mapping[str, Any]) -> float:
    """Memory in use without the reclaimable page cache (cgroup v1 and v2 rules of the CLI)."""
    mem = sample.get("memory_stats") or {}
    usage = _num(mem, "usage")
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and _num(stats, "total_inactive_file") < usage:
        return usage - _num(stats, "total_inactive_file")
    inactive = _num(stats, "inactive_file")
    return usage - inactive if inactive < usage else usage


def memory_limit(sample: Mapping[str, Any]) -> float:
    """The container's memory limit in bytes (the host's memory when unlimited)."""
    return _num(sample.get("memory_stats"), "limit")


def memory_percent(sample: Mapping[str, Any]) -> float:
    """Memory used as a percentage of the limit (0 when the limit is unknown)."""
    limit = memory_limit(sample)
    return memory_used(sample) / limit * 100.0 if limit != 0 else 0.0


def network_io(sample: Mapping[str, Any]) -> tuple[float, float]:
    """Bytes received and sent, summed over all of the container's interfaces."""
    nets = sample.get("networks") or {}
    return sum(_num(n, "rx_bytes") for n in nets.values()), sum(_num(n, "tx_bytes") for n in nets.values())


def block_io(sample: Mapping[str, Any]) -> tuple[float, float]:
    """Bytes read and written, from ``io_service_bytes_recursive`` ops starting with r/R and w/W."""
    entries = (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ()
    read = write = 0.0
    for entry in entries:
        op = str(entry.get("op") or "")
        if op[:1] in ("r", "R"):
            read += _num(entry, "value")
        elif op[:1] in ("w", "W"):
            write += _num(entry, "value")
    return read, write


def pids(sample: Mapping[str, Any]) -> int:
    """The number of processes in the container."""
    return int(_num(sample.get("pids_stats"), "current"))


