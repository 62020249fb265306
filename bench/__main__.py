"""Run the benchmarks and print one table (figures are ratios against floors from the same run)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from bench.deploybench import deploy_figures, report
from bench.faults import BURST, SLOW_SLACK, fault_figures
from bench.floor import start_floor_server
from bench.hostsbench import hosts_figures
from bench.hostsbench import report as hosts_report
from bench.imagebench import image_figures
from bench.imagebench import report as image_report
from bench.redaction import bench_redaction
from bench.starvation import FLOODER, measure_starvation
from bench.statsbench import report as stats_report
from bench.statsbench import stats_figures
from bench.watchbench import report as watch_report
from bench.watchbench import watch_figures
from bot.verbs import CATALOG
from dockbolt.cli.local_redis import LocalRedis
from dockbolt.console.slash_client import SlashClient
from dockbolt.core.config_default import default_config_toml
from tests.support.harness import CHANNEL, QUEUE, SECRET, Pipeline, start_pipeline

USER = "UBENCH"
IMAGE = "dockbolt-test/busybox:latest"
ACK_REQUESTS = 300
ACK_RATE = 50.0  # requests per second, steady
E2E_ROUNDS = 10


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) of values, nearest-rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def steady(send: Callable[[], object], n: int, rate: float) -> list[float]:
    """Send n requests at a steady rate; return each latency in ms."""
    out = []
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t0 = time.perf_counter()
        send()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_ack(p: Pipeline, redis: Redis) -> tuple[list[float], list[float]]:
    """Ack latency of the bot vs the floor, same client, same rate."""
    floor_server, floor_url = start_floor_server(SECRET, redis, "bench-floor")
    floor = SlashClient(floor_url, SECRET)
    try:
        for _ in range(20):  # warm both up
            floor.send("ps", user_id=USER, channel_id=CHANNEL)
            p.send("ps", user_id=USER)
        f = steady(lambda: floor.send("ps", user_id=USER, channel_id=CHANNEL), ACK_REQUESTS, ACK_RATE)
        b = steady(lambda: p.send("ps", user_id=USER), ACK_REQUESTS, ACK_RATE)
    finally:
        floor_server.shutdown()
    return f, b


def timed_cli(argv: list[str]) -> float:
    """Wall time of one docker CLI command, in ms."""
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1000


def e2e(p: Pipeline, text: str, done: Callable[[str], bool]) -> float:
    """Signed request → the job's final thread reply seen by the stand-in (ms)."""
    t0 = time.perf_counter()
    resp = p.send(text, user_id=USER)
    job_id = p.job_of(resp)  # the ack is quiet (the card says it) unless it says more
    assert job_id is not None, resp.body
    p.standin.wait_for(lambda: done(job_id) or None, timeout=120)
    return (time.perf_counter() - t0) * 1000


# The full policy a team would run: built-in and custom roles with grants, scoped and channel bindings,
# user groups, every guardrail, extra redaction patterns. The ack bench sends 320 commands from one user
# at 50/s, so the rate limit and queue share are raised (they are measured by the starvation bench).
FULL_POLICY = """
[rbac.roles.deployer]
inherits = ["operator"]
grants = ["host-mounts", "public-ports"]

[[rbac.bindings]]
role = "deployer"
users = ["U0DEPLOY1", "U0DEPLOY2"]
channels = ["CDEPLOY"]
containers = ["staging-*", "preview-*"]
images = ["registry.local:5000/acme/*"]

[[rbac.bindings]]
role = "viewer"
groups = ["S0DEVS"]
channels = ["CTEAM", "CDEV"]

[[rbac.bindings]]
role = "operator"
users = ["U0OPS1", "U0OPS2", "U0OPS3"]
containers = ["web-*", "api-*"]

[policy]
allowed_host_paths = ["/srv/dockbolt", "/var/lib/dockbolt-data"]
allowed_images = ["registry.local:5000/*", "dockbolt-test/*", "busybox*"]
memory = "512m"
pids_limit = 512
publish_address = "127.0.0.1"
read_unmanaged = false
rate = "1000000/second"
max_queued_per_user = 1000000
redact = ['acme-[0-9a-f]{16}', 'internal-token-[A-Za-z0-9]+']
"""


def bench_config() -> str:
    """The default config (USER admin) with the full policy; its own [policy] table is all comments."""
    base = default_config_toml(USER, CATALOG)
    return base[: base.index("\n[policy]")] + FULL_POLICY


def main() -> int:
    """Run everything and print the table."""
    with LocalRedis() as local, tempfile.TemporaryDirectory() as tmp:
        p = start_pipeline(local.url, Path(tmp), bench_config())
        redis = Redis.from_url(local.url)
        try:
            floor_ack, bot_ack = bench_ack(p, redis)
            Queue(QUEUE, connection=redis, serializer=JSONSerializer).empty()
            p.start_worker()

            def replied(job_id: str) -> bool:
                card = p.standin.find_card(job_id)
                return card is not None and card.status in ("done", "failed")

            for _ in range(3):
                e2e(p, "ps", replied)
            ps_bot = [e2e(p, "ps", replied) for _ in range(E2E_ROUNDS)]
            ps_cli = [timed_cli(["docker", "ps"]) for _ in range(E2E_ROUNDS)]
            run_bot, run_cli = [], []
            for i in range(E2E_ROUNDS):
                run_bot.append(e2e(p, f"run -d --name dhbench-bot-{i} {IMAGE} sleep 600", replied))
                run_cli.append(timed_cli(["docker", "run", "-d", "--name", f"dhbench-cli-{i}", IMAGE,
                                          "sleep", "600"]))
        finally:
            p.close()
            names = [f"dhbench-{w}-{i}" for w in ("bot", "cli") for i in range(E2E_ROUNDS)]
            subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
    rows = [
        ("ack p50 (ms)", statistics.median(bot_ack), statistics.median(floor_ack), None),
        ("ack p99 (ms)", pct(bot_ack, 99), pct(floor_ack, 99), 2.0),
        ("ps end-to-end p50 (ms)", statistics.median(ps_bot), statistics.median(ps_cli), 2.0),
        ("run -d end-to-end p50 (ms)", statistics.median(run_bot), statistics.median(run_cli), 1.05),
    ]
    print(f"\n{'measure':<28}{'dockbolt':>12}{'floor':>12}{'ratio':>9}{'goal':>8}  met")
    for name, ours, floor, goal in rows:
        ratio = ours / floor
        met = "" if goal is None else ("yes" if ratio <= goal else "NO")
        goal_s = "" if goal is None else f"≤{goal:g}×"
        print(f"{name:<28}{ours:>12.1f}{floor:>12.1f}{ratio:>8.2f}×{goal_s:>8}  {met}")
    print(f"\nack: {ACK_REQUESTS} requests at {ACK_RATE:.0f}/s under the full policy (bench_config); floor = "
          "HMAC verify + RQ enqueue, stdlib server."
          f"\nps/run floors: the docker CLI; {E2E_ROUNDS} rounds each.")
    redaction = bench_redaction()
    print("\nredaction of a realistic 2 MiB log: "
          + ", ".join(f"{k} {v:.2f}" for k, v in redaction.items()))
    starvation = starvation_main_figures()
    print("starvation (another user's `ps` while one viewer floods 500 `ps`): "
          + ", ".join(f"{k} {v:.1f}" for k, v in starvation.items()))
    faults = fault_figures(bench_config(), USER)
    print(f"faults (burst: {BURST} `ps` at once from 20 channels, Slack answering in "
          f"{SLOW_SLACK * 1000:.0f} ms, two workers; recoveries with two workers): "
          + ", ".join(f"{k} {v:.2f}" for k, v in faults.items()))
    print(report(deploy_figures(bench_config(), USER)))
    print(stats_report(stats_figures(bench_config())))
    print("\n".join(watch_report(watch_figures())))
    print(hosts_report(hosts_figures(bench_config())))
    print(image_report(image_figures()))
    return 0


def starvation_main_figures() -> dict[str, float]:
    """The starvation bench on its own pipeline (default limits: 20/minute, 5 queued per user)."""
    viewer = f'\n[[rbac.bindings]]\nrole = "viewer"\nusers = ["{FLOODER}"]\n'
    with LocalRedis() as local, tempfile.TemporaryDirectory() as tmp:
        p = start_pipeline(local.url, Path(tmp), default_config_toml(USER, CATALOG) + viewer)
        try:
            p.start_worker()
            return measure_starvation(p, flooder=FLOODER, other=USER)
        finally:
            p.close()


if __name__ == "__main__":
    sys.exit(main())
