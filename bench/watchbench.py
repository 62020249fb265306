"""The watcher: event → alert posted latency, and its CPU and memory while watching 50 containers.

``watch_figures`` starts its own private Redis, stand-in Slack, bot and a real `dockbolt watch` process
(default ``[monitor]`` interval, 10 s) on the local engine.

- event → alert: ``ROUNDS`` containers that exit with code 3 at once, one after the other; for each, the
  time from the exit (``State.FinishedAt``, the engine's clock, nanoseconds) to the alert message landing
  in the stand-in (its receive time, same host clock). p50 and p95; goal p50 ≤ 1 s.
- watching 50: ``WATCHED`` idle busybox containers running, then the watcher process's CPU time
  (``/proc/PID/stat`` utime+stime) over ``WINDOW`` seconds of ticks, as % of one core, and its RSS at the
  end (``VmRSS``). The engine's own cost of answering the stats calls is not in it.

Everything it starts is labelled ``dockbolt.bench=watch`` and removed afterwards.
Run alone: ``python -m bench.watchbench``.
"""

from __future__ import annotations

import contextlib
import html
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import docker
import docker.errors

from dockbolt.cli.local_redis import LocalRedis
from tests.support.harness import Pipeline, start_pipeline

IMAGE = "dockbolt-test/busybox:latest"
CHANNEL = "CBENCHALERTS"
LABELS = {"dockbolt.bench": "watch"}
ROUNDS = 10
WATCHED = 50
WINDOW = 60.0
GOAL_P50 = 1.0
CONFIG = f'[slack]\nnotify_channel = "{CHANNEL}"\n[rbac]\ndefault_role = ""\n'


def _finished(client: docker.DockerClient, name: str) -> float:
    raw = str(client.api.inspect_container(name)["State"]["FinishedAt"])  # 2026-…T…:05.123456789Z
    whole, _, frac = raw.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{frac or 0}")


def alert_latencies(p: Pipeline, client: docker.DockerClient) -> list[float]:
    """Seconds from each exit to its alert in the channel."""
    out = []
    for i in range(ROUNDS):
        name = f"dhbench-exit-{os.getpid()}-{i}"
        client.containers.run(IMAGE, ["sh", "-c", "exit 3"], name=name, detach=True, labels=LABELS)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            hit = next((m for m in p.standin.messages(CHANNEL) if f"`{name}`" in html.unescape(m.text)), None)
            if hit is not None:
                out.append(hit.at - _finished(client, name))
                break
            time.sleep(0.01)
        else:
            raise RuntimeError(f"no alert for {name}: {p.watcher_log()[-2000:]}")
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def watching_cost(p: Pipeline, client: docker.DockerClient) -> tuple[float, float]:
    """(CPU % of one core, RSS MiB) of the watcher while ``WATCHED`` containers run."""
    for i in range(WATCHED):
        client.containers.run(IMAGE, ["sleep", "3600"], name=f"dhbench-idle-{os.getpid()}-{i}", detach=True,
                              labels=LABELS, mem_limit="32m")
    pid = p.watchers[0].pid
    time.sleep(15)  # a tick or so with all of them, before measuring
    cpu0, t0 = _cpu_seconds(pid), time.monotonic()
    time.sleep(WINDOW)
    return (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100.0, _rss_mib(pid)


def _cleanup(client: docker.DockerClient) -> None:
    for c in client.containers.list(all=True, filters={"label": "dockbolt.bench=watch"}):
        with contextlib.suppress(docker.errors.APIError):
            c.remove(force=True)


def watch_figures() -> dict[str, float]:
    """Run both measurements; the figures by name."""
    client = docker.from_env()
    with LocalRedis() as local, tempfile.TemporaryDirectory() as tmp:
        p = start_pipeline(local.url, Path(tmp), CONFIG)
        try:
            p.start_watcher()
            lat = alert_latencies(p, client)
            cpu, rss = watching_cost(p, client)
        finally:
            p.close()
            _cleanup(client)
            client.close()
    q = statistics.quantiles(lat, n=20)
    return {"p50": statistics.median(lat), "p95": q[18], "cpu": cpu, "rss": rss}


def report(f: dict[str, float]) -> list[str]:
    """The figures as table lines."""
    verdict = "meets" if f["p50"] <= GOAL_P50 else "misses"
    return [
        f"event → alert posted      p50 {f['p50'] * 1000:7.0f} ms   p95 {f['p95'] * 1000:7.0f} ms   "
        f"({verdict} the goal p50 ≤ {GOAL_P50:g} s; {ROUNDS} exits)",
        f"watcher, {WATCHED} containers   CPU {f['cpu']:5.2f} % of one core   RSS {f['rss']:6.1f} MiB   "
        f"(10 s interval, {WINDOW:.0f} s window)",
    ]


if __name__ == "__main__":
    print("\n".join(report(watch_figures())))
    sys.exit(0)
