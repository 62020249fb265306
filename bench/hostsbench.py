"""Fan-out: `ps @all` over two real engines vs the slower of `@a ps` and `@b ps` alone (goal ≤ 1.3×).

``hosts_figures`` starts a second dockerd in its own network namespace (``tests.support.second_engine``),
its own private Redis, stand-in Slack, bot, and one worker per engine, with ``CONTAINERS`` idle busybox
containers on each. Each round times `@a ps`, `@b ps` and `@all ps` (signed request → the card final),
in turn; the figure is the median of `@all` over the larger of the two single-host medians.

Run alone: ``python -m bench.hostsbench``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import docker

from bench.deploybench import IMAGE, through_bot
from dockbolt.cli.local_redis import LocalRedis
from tests.support.harness import start_pipeline
from tests.support.second_engine import SecondEngine

USER = "UBENCH"
CONTAINERS = 10
ROUNDS = 20
GOAL = 1.3


def hosts_figures(config_text: str) -> dict[str, float]:
    """Medians (ms) of `@a ps`, `@b ps`, `@all ps`, and the ratio; {} when no second engine can start."""
    missing = SecondEngine.missing_prerequisites()
    if missing:
        print(f"hosts bench skipped: {'; '.join(missing)}", file=sys.stderr)
        return {}
    local = docker.from_env()
    made: list[docker.models.containers.Container] = []
    with SecondEngine(name="bench-b") as b, LocalRedis() as redis, tempfile.TemporaryDirectory() as tmp:
        b.load_images([IMAGE], source=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
        p = start_pipeline(redis.url, Path(tmp), config_text)
        try:
            p.start_worker({"DOCKBOLT_HOST_NAME": "bench-a"})
            p.start_worker({"DOCKBOLT_HOST_NAME": "bench-b", "DOCKER_HOST": b.docker_host})
            for engine, side in ((local, "a"), (b.client, "b")):
                made += [engine.containers.run(IMAGE, ["sleep", "600"], name=f"dhbench-host-{side}-{i}",
                                               detach=True, labels={"dockbolt.managed": "true"})
                         for i in range(CONTAINERS)]
            times: dict[str, list[float]] = {"@bench-a ps": [], "@bench-b ps": [], "@all ps": []}
            for text in times:  # warm up
                through_bot(p, text, USER)
            for _ in range(ROUNDS):
                for text, out in times.items():
                    out.append(through_bot(p, text, USER)[1])
        finally:
            p.close()
            for c in made:
                c.remove(force=True)
    a, bb, both = (statistics.median(v) for v in times.values())
    return {"a ms": a, "b ms": bb, "all ms": both, "ratio": both / max(a, bb)}


def report(figures: dict[str, float]) -> str:
    """One line for the bench table."""
    if not figures:
        return "fan-out `ps @all`: not measured (no second engine here)"
    met = "met" if figures["ratio"] <= GOAL else "NOT met"
    slower = max(figures["a ms"], figures["b ms"])
    return (f"fan-out `@all ps` over 2 hosts ({CONTAINERS} containers each): {figures['all ms']:.0f} ms vs "
            f"the slower single host {slower:.0f} ms = {figures['ratio']:.2f}× "
            f"(goal ≤ {GOAL:g}×: {met}; @a {figures['a ms']:.0f} ms, @b {figures['b ms']:.0f} ms, "
            f"median of {ROUNDS})")


if __name__ == "__main__":
    from bench.__main__ import bench_config

    print(report(hosts_figures(bench_config())))
