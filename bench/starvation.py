"""Starvation: one viewer floods the queue; how long does someone else's `ps` take meanwhile?

``measure_starvation`` needs a running pipeline with one worker (as ``bench/__main__`` starts it) in
which ``flooder`` may run `ps` and ``other`` too. It measures ``other``'s `ps` end-to-end (signed request
→ card done) a few times on a quiet queue; then ``flooder`` sends ``flood`` `ps` commands as fast as
``senders`` threads can, and ``other`` sends one `ps` once the flood is under way and one as soon as its
last command was answered. It returns once every accepted flood job has finished.

Run alone: ``python -m bench.starvation`` (private Redis, stand-in Slack, the bot, one worker).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.verbs import CATALOG
from dockbolt.cli.local_redis import LocalRedis
from dockbolt.core.config_default import default_config_toml
from tests.support.harness import CHANNEL, Pipeline, job_of_ack, start_pipeline

FLOODER = "UFLOOD"
OTHER = "UBENCH"
FINAL = ("done", "failed", "timed_out", "lost")


def _send(p: Pipeline, user: str, text: str) -> str | None:
    """Send one signed command; the job id when it was accepted."""
    url = p.standin.new_response_url()
    resp = p.slash.send(text, user_id=user, channel_id=CHANNEL, response_url=url)
    return job_of_ack(p.redis, resp, user, url)


def _finished(p: Pipeline, job_id: str) -> bool:
    card = p.standin.find_card(job_id)
    return card is not None and card.status in FINAL


def probe(p: Pipeline, user: str, timeout: float = 600) -> tuple[float, float]:
    """``user``'s `ps`: (ack, signed request → card done), in ms."""
    t0 = time.perf_counter()
    job_id = _send(p, user, "ps")
    acked = time.perf_counter()
    if job_id is None:
        raise RuntimeError(f"{user}'s `ps` was not accepted")
    p.standin.wait_for(lambda: _finished(p, job_id) or None, timeout=timeout)
    return (acked - t0) * 1000, (time.perf_counter() - t0) * 1000


def measure_starvation(p: Pipeline, flooder: str = FLOODER, other: str = OTHER, flood: int = 500,
                       quiet_rounds: int = 5, senders: int = 8) -> dict[str, float]:
    """Figures (ms, s, counts): ``other``'s `ps` on a quiet queue, sent mid-flood, and sent right after
    the flood's last command was answered; what became of the flood."""
    for _ in range(2):
        probe(p, other)  # warm up
    quiet = [probe(p, other)[1] for _ in range(quiet_rounds)]
    accepted: list[str] = []
    flood_acks: list[float] = []
    mid: list[tuple[float, float]] = []

    def flood_one(_: int) -> None:
        t0 = time.perf_counter()
        job_id = _send(p, flooder, "ps")
        flood_acks.append((time.perf_counter() - t0) * 1000)
        if job_id is not None:
            accepted.append(job_id)

    def probe_mid_flood() -> None:
        while len(flood_acks) < min(flood, 4 * senders):
            time.sleep(0.001)  # let the flood get going first
        mid.append(probe(p, other))

    started = time.perf_counter()
    mid_probe = threading.Thread(target=probe_mid_flood, name="bench-mid-flood-probe")
    mid_probe.start()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(flood_one, range(flood)))
    sent_s = time.perf_counter() - started
    after_ack, after = probe(p, other)
    mid_probe.join()
    for job_id in accepted:
        p.standin.wait_for(lambda j=job_id: _finished(p, j) or None, timeout=1200)
    quiet_p50 = statistics.median(quiet)
    return {
        "flood_commands": float(flood),
        "flood_accepted": float(len(accepted)),
        "flood_refused": float(flood - len(accepted)),
        "flood_send_s": sent_s,
        "flood_ack_p50_ms": statistics.median(flood_acks),
        "flood_drained_s": time.perf_counter() - started,
        "quiet_p50_ms": quiet_p50,
        "mid_flood_ack_ms": mid[0][0],
        "mid_flood_ms": mid[0][1],
        "after_flood_ack_ms": after_ack,
        "after_flood_ms": after,
        "mid_flood_vs_quiet": mid[0][1] / quiet_p50,
        "after_flood_vs_quiet": after / quiet_p50,
    }


def main() -> int:
    """Start a pipeline with one worker and print the figures as JSON."""
    viewer = f'\n[[rbac.bindings]]\nrole = "viewer"\nusers = ["{FLOODER}"]\n'
    config = default_config_toml(OTHER, CATALOG) + viewer
    with LocalRedis() as local, tempfile.TemporaryDirectory() as tmp:
        p = start_pipeline(local.url, Path(tmp), config)
        try:
            p.start_worker()
            figures = measure_starvation(p)
        finally:
            p.close()
    print(json.dumps({k: round(v, 1) for k, v in figures.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
