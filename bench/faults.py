"""Faults bench: a 500-command burst against a slow Slack, and how fast the pipeline recovers.

- burst: 500 `ps` sent by 16 threads at once (from 20 channels, so 20 lanes), Slack answering every call
  in 300 ms, two workers. Figures: ack p50/p99, time to the last card, time to drain (every card final),
  lost (accepted, never finished) and undeliverable (outbox entries given up).
- Redis back → first job done: Redis SIGKILLed for 5 s with a worker running, started again on the same
  socket; time from its start to a new `ps` answered in its thread (the bot's acks meanwhile say the job
  could not be queued; the command is sent again until accepted).
- Slack back → backlog delivered: Slack down (connections refused) while 50 `ps` run to the end; time
  from Slack's return until every one of their cards is final.

Run alone: ``python -m bench.faults``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.starvation import FINAL
from dockbolt.cli.local_redis import LocalRedis
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from tests.support.harness import Pipeline, job_of_ack, start_pipeline

BURST = 500
CHANNELS = [f"C0BURST{i:02d}" for i in range(20)]
SLOW_SLACK = 0.3


def _final(p: Pipeline, job_id: str) -> bool:
    return any(m.job_id == job_id and m.status in FINAL for m in p.standin.messages(_channel_of(p, job_id)))


def _channel_of(p: Pipeline, job_id: str) -> str:
    rec = JobStore(p.redis).get(job_id)
    return rec.request.channel_id if rec is not None else ""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def measure_burst(p: Pipeline, user: str, burst: int = BURST, drain_timeout: float = 900) -> dict[str, float]:
    """The burst figures (ms for acks, s for the rest, counts); ``p`` has its workers running."""
    p.faults.slow(SLOW_SLACK)
    urls = [p.standin.new_response_url() for _ in range(burst)]

    def send(i: int) -> tuple[float, str | None]:
        t0 = time.perf_counter()
        resp = p.slash.send("ps", user_id=user, channel_id=CHANNELS[i % len(CHANNELS)], response_url=urls[i])
        return (time.perf_counter() - t0) * 1000, job_of_ack(p.redis, resp, user, urls[i])

    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(burst)))
    acks = [ms for ms, _ in results]
    jobs = [job for _, job in results if job is not None]
    channels = {job: _channel_of(p, job) for job in jobs}
    last_card = drained = 0.0
    carded: set[str] = set()
    done: set[str] = set()
    deadline = time.monotonic() + drain_timeout
    while len(done) < len(jobs) and time.monotonic() < deadline:
        seen = {m.job_id: m.status for ch in CHANNELS for m in p.standin.messages(ch) if m.job_id}
        now = time.perf_counter() - start
        for job in jobs:
            if job not in carded and job in seen:
                carded.add(job)
                last_card = now
            if job not in done and seen.get(job) in FINAL and channels[job]:
                done.add(job)
                drained = now
        time.sleep(0.2)
    p.faults.slow(0)
    return {"accepted": len(jobs), "ack p50 ms": statistics.median(acks), "ack p99 ms": _pct(acks, 99),
            "last card s": last_card, "drained s": drained, "lost": len(jobs) - len(done),
            "undeliverable": Outbox(p.redis).backlog()[1]}


class RestartableRedis:
    """A redis-server on a unix socket of its own that can be SIGKILLed and started again on it."""

    def __init__(self, workdir: Path) -> None:
        self.sock = workdir / "redis.sock"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"

    def start(self) -> None:
        exe = shutil.which("redis-server") or "redis-server"
        self.proc = subprocess.Popen([exe, "--port", "0", "--unixsocket", str(self.sock), "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.sock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.sock.unlink(missing_ok=True)


def measure_redis_recovery(p: Pipeline, server: RestartableRedis, user: str, down: float = 5.0) -> float:
    """Seconds from Redis's restart to a `ps` sent after it answered in its thread."""
    server.kill()
    time.sleep(down)
    server.start()
    back = time.perf_counter()
    while True:
        url = p.standin.new_response_url()
        resp = p.slash.send("ps", user_id=user, channel_id=CHANNELS[0], response_url=url)
        job = job_of_ack(p.redis, resp, user, url)
        if job is not None:
            break
        time.sleep(0.05)
    p.standin.wait_for(lambda: _final(p, job) or None, timeout=120)
    return time.perf_counter() - back


def measure_slack_recovery(p: Pipeline, user: str, commands: int = 50) -> float:
    """Seconds from Slack's return to every card of the jobs that ran while it was down being final."""
    port = p.standin.port
    urls = [p.standin.new_response_url() for _ in range(commands)]
    p.standin.stop()
    try:
        jobs = []
        for i in range(commands):
            resp = p.slash.send("ps", user_id=user, channel_id=CHANNELS[i % len(CHANNELS)],
                                response_url=urls[i])
            job = job_of_ack(p.redis, resp, user, urls[i])
            if job is not None:
                jobs.append(job)
        store = JobStore(p.redis)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            recs = [store.get(j) for j in jobs]
            if all(r is not None and r.status.final for r in recs):
                break
            time.sleep(0.1)
    finally:
        p.standin.start(port)
    back = time.perf_counter()
    p.standin.wait_for(lambda: all(_final(p, j) for j in jobs) or None, timeout=300)
    return time.perf_counter() - back


def fault_figures(config: str, user: str) -> dict[str, float]:
    """Every figure of this bench, each on a pipeline of its own with two workers."""
    figures: dict[str, float] = {}
    with LocalRedis() as local, tempfile.TemporaryDirectory() as tmp:
        p = start_pipeline(local.url, Path(tmp), config)
        try:
            p.start_worker()
            p.start_worker()
            figures.update(measure_burst(p, user))
        finally:
            p.close()
    with tempfile.TemporaryDirectory() as tmp:
        server = RestartableRedis(Path(tmp))
        server.start()
        p = start_pipeline(server.url, Path(tmp), config)
        try:
            p.start_worker()
            p.start_worker()
            figures["slack back → drained s"] = measure_slack_recovery(p, user)
            figures["redis back → job done s"] = measure_redis_recovery(p, server, user)
        finally:
            p.close()
            server.kill()
    return figures


if __name__ == "__main__":
    from bench.__main__ import USER, bench_config

    print(", ".join(f"{k} {v:.2f}" for k, v in fault_figures(bench_config(), USER).items()))
    sys.exit(0)
