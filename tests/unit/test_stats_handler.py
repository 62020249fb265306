"""The `stats` handler against a recording Docker stub and a real Redis history: the watcher's fresh samples
answer (scopes still hold), stale ones fall back to live sampling, rankings, and `--since` charts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis import Redis

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import TargetNotFound
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import Sample, StatsHistory
from tests.support.recording_docker import RecordingDocker, canned_id, container, sample
from workers.docker_port import ContainerSummary
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext
from workers.reply import Reply

MIB = 1024 * 1024


@pytest.fixture
def history(redis_url: str) -> Iterator[StatsHistory]:
    redis = Redis.from_url(redis_url)
    yield StatsHistory(redis, "host1", MonitorConfig(interval=10))
    redis.close()


@pytest.fixture
def docker() -> RecordingDocker:
    return RecordingDocker()


def run(docker: RecordingDocker, history: StatsHistory | None, *,
        visible: Callable[[ContainerSummary], bool] = lambda _: True, **args: Any) -> Reply:
    job = JobRequest(job_id="job42", verb="stats", args=args, user_id="UALICE", channel_id="C1",
                     command_text="")
    ctx = HandlerContext(job=job, docker=docker, progress=lambda _: None, visible=visible,
                         stats_history=history, monitor=MonitorConfig(interval=10))
    handler = HANDLERS["stats"]
    return handler.run(ctx, handler.args.from_dict({"names": [], **args}))


def usage(t: float, cpu: float, mem_mib: float) -> Sample:
    return Sample(t=t, cpu=cpu, mem=mem_mib * MIB, mem_limit=64 * MIB, net_rx=1000, net_tx=2000,
                  blk_read=0, blk_write=4096, pids=2)


def names_in(reply: Reply) -> list[str]:
    assert reply.body is not None
    return [line.split()[1] for line in reply.body.splitlines()[1:]]


def test_fresh_samples_answer_without_sampling(docker: RecordingDocker, history: StatsHistory) -> None:
    docker.containers = [container("web"), container("db")]
    now = time.time()
    history.add("web", "busybox", usage(now - 4, 12.5, 10))
    history.add("db", "busybox", usage(now - 3, 1.0, 30))
    reply = run(docker, history)
    assert docker.called("stats") == []
    assert reply.text.startswith("Stats for 2 containers (from the watcher's samples,")
    assert reply.text.endswith("s old).")
    assert reply.body is not None
    web = next(line for line in reply.body.splitlines() if " web " in line).split()
    assert web == [canned_id("web")[:12], "web", "12.50%", "10MiB", "/", "64MiB", "15.62%", "1kB", "/", "2kB",
                   "0B", "/", "4.1kB", "2"]


def test_fresh_samples_still_show_only_what_the_caller_may_see(docker: RecordingDocker,
                                                                history: StatsHistory) -> None:
    docker.containers = [container("web"), container("secret-db")]
    now = time.time()
    history.add("web", "busybox", usage(now, 1, 1))
    history.add("secret-db", "busybox", usage(now, 99, 60))
    reply = run(docker, history, visible=lambda c: c.name != "secret-db")
    assert names_in(reply) == ["web"] and "secret-db" not in (reply.body or "") + reply.text
    ranked = run(docker, history, visible=lambda c: c.name != "secret-db", sort="cpu")
    assert names_in(ranked) == ["web"]
    # Named: the worker's authorization checked the NAME as Docker resolves it; a running container the
    # caller may not see is never answered from the history under that NAME (Docker is asked instead).
    prefix = canned_id("secret-db")[:12]
    docker.samples[prefix] = sample("web")
    reply = run(docker, history, visible=lambda c: c.name != "secret-db", names=[prefix])
    assert docker.called("stats") == [(prefix,)] and "secret-db" not in (reply.body or "")


def test_stale_or_missing_samples_fall_back_to_live_sampling(docker: RecordingDocker,
                                                             history: StatsHistory) -> None:
    docker.containers = [container("web"), container("db")]
    docker.samples = {canned_id(n): sample(n) for n in ("web", "db")}
    history.add("web", "busybox", usage(time.time() - 31, 1, 1))  # older than 3 intervals
    history.add("db", "busybox", usage(time.time(), 1, 1))
    reply = run(docker, history)
    assert sorted(docker.called("stats")) == sorted([(canned_id("web"),), (canned_id("db"),)])
    assert reply.text == "Stats for 2 containers (one sample each)."
    assert run(docker, None).text == "Stats for 2 containers (one sample each)."  # no history at all


def test_named_containers_use_fresh_samples_by_name_or_id_prefix(docker: RecordingDocker,
                                                                 history: StatsHistory) -> None:
    docker.containers = [container("web"), container("db")]
    history.add("web", "busybox", usage(time.time(), 5, 5))
    reply = run(docker, history, names=[canned_id("web")[:8]])
    assert docker.called("stats") == [] and names_in(reply) == ["web"]
    docker.samples["web"] = sample("web")
    docker.fail("stats", TargetNotFound("No such container: ghost"), name="ghost")
    reply = run(docker, history, names=["web", "ghost"])  # not running: Docker says why, live
    assert not reply.ok and "No such container: ghost" in reply.text


def test_sort_ranks_the_heaviest_first_top_n(docker: RecordingDocker, history: StatsHistory) -> None:
    docker.containers = [container(n) for n in ("a1", "b2", "c3", "d4")]
    now = time.time()
    for name, cpu, mem in (("a1", 5, 40), ("b2", 50, 10), ("c3", 20, 30), ("d4", 0, 20)):
        history.add(name, "busybox", usage(now, cpu, mem))
    assert names_in(run(docker, history, sort="cpu", limit=2)) == ["b2", "c3"]
    reply = run(docker, history, sort="mem")
    assert names_in(reply) == ["a1", "c3", "d4", "b2"] and "Heaviest first by memory (all)." in reply.text


def test_sort_ranks_live_samples_too(docker: RecordingDocker) -> None:
    docker.containers = [container("web"), container("db")]
    docker.samples = {
        canned_id("web"): sample("web", memory_stats={"usage": 10 * MIB, "limit": 64 * MIB}),
        canned_id("db"): sample("db", memory_stats={"usage": 50 * MIB, "limit": 64 * MIB}),
    }
    reply = run(docker, None, sort="mem", limit=1)
    assert names_in(reply) == ["db"] and "Heaviest first by memory (top 1)." in reply.text


def test_since_posts_a_png_with_min_avg_max(docker: RecordingDocker, history: StatsHistory) -> None:
    docker.documents["web"] = {"Name": "/web", "State": {"Running": True}}
    now = time.time()
    for i in range(30):
        history.add("web", "busybox", usage(now - 300 + 10 * i, float(i), 10 + i % 3))
    reply = run(docker, history, names=["web"], since=3600)
    assert reply.attachment is not None and reply.attachment.startswith(b"\x89PNG\r\n\x1a\n")
    assert reply.filename == "stats-web.png" and reply.body is None
    assert "30 points" in reply.text
    assert "CPU %: min 0.00, avg 14.50, max 29.00" in reply.text
    assert "memory (MiB): min 10.0, avg 11.0, max 12.0" in reply.text


def test_since_without_data_says_so(docker: RecordingDocker, history: StatsHistory) -> None:
    docker.documents["web"] = {"Name": "/web", "State": {"Running": True}}
    reply = run(docker, history, names=["web"], since=3600)
    assert reply.attachment is None and "No stats history for `web` in the last 1h" in reply.text
    assert "no watcher" in run(docker, None, names=["web"], since=3600).text


def test_since_charts_containers_only(docker: RecordingDocker, history: StatsHistory) -> None:
    docker.documents["busybox"] = {"RepoTags": ["busybox:latest"]}  # inspect fell back to an image
    with pytest.raises(TargetNotFound):
        run(docker, history, names=["busybox"], since=3600)
