"""Commands for a host nobody serves are refused at once; a job already queued when its host's workers
vanished is told so in its thread, once, and failed (taken off the queue) after the reaper's limit.

The harness registers its host with a placeholder worker before any real worker starts (the bot routes
by the host registry); no RQ worker serves the queue, which is what the reaper looks at."""

from __future__ import annotations

from rq import Queue

from dockbolt.core.contract import JobStatus
from dockbolt.core.hosts import HostInfo, HostRegistry
from dockbolt.core.jobstore import JobStore
from tests.support.harness import PLACEHOLDER
from tests.support.pipeline import CHANNEL, HOST, QUEUE, Pipeline


def _said(p: Pipeline, ts: str, words: str) -> list[str]:
    return [m.text for m in p.standin.thread(CHANNEL, ts) if words in m.text]


def test_a_job_whose_host_lost_its_workers_is_told_then_failed(pipeline: Pipeline) -> None:
    job = pipeline.job_of(pipeline.send("ps", user_id="UOPERATOR"))
    assert job is not None
    card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job))
    said = pipeline.standin.wait_for(lambda: _said(pipeline, card.ts, "No worker is serving") or None,
                                     timeout=30)
    assert f"`{HOST}`" in said[0] and f"job `{job}` waits" in said[0] and "otherwise it fails" in said[0]
    for _ in range(3):
        pipeline.bot.reaper.run_once()
    assert len(_said(pipeline, card.ts, "No worker is serving")) == 1
    assert job in Queue(QUEUE, connection=pipeline.redis).job_ids  # told, still waiting for a worker

    pipeline.bot.reaper.fail_after = 0.0
    pipeline.bot.reaper.run_once()
    failed = pipeline.standin.wait_for(lambda: _said(pipeline, card.ts, "did not run") or None)
    assert f"no worker served `{HOST}`" in failed[0]
    assert job not in Queue(QUEUE, connection=pipeline.redis).job_ids
    rec = JobStore(pipeline.redis).get(job)
    assert rec is not None and rec.status is JobStatus.FAILED
    pipeline.standin.wait_for(lambda: "failed" in (pipeline.standin.find_card(job) or card).text or None)
    pipeline.bot.reaper.run_once()
    assert len(_said(pipeline, card.ts, "did not run")) == 1


def test_a_command_for_a_host_without_a_worker_is_refused_at_once(pipeline: Pipeline) -> None:
    HostRegistry(pipeline.redis).leave(HOST, PLACEHOLDER)
    answer = (pipeline.send(f"@{HOST} ps", user_id="UOPERATOR").json or {})["text"]
    assert f"No worker is serving `{HOST}` (last seen" in answer and "nothing was queued" in answer
    answer = (pipeline.send("ps", user_id="UOPERATOR").json or {})["text"]
    assert "No worker is serving any Docker host" in answer and f"`{HOST}`" in answer
    assert Queue(QUEUE, connection=pipeline.redis).count == 0
    assert not list(pipeline.redis.scan_iter("dockbolt:job:*"))


def test_unknown_and_ambiguous_hosts_are_private_errors_naming_the_hosts(pipeline: Pipeline) -> None:
    answer = (pipeline.send("@lokal ps", user_id="UOPERATOR").json or {})["text"]
    assert "Unknown Docker host `lokal`" in answer and "Did you mean `@local`?" in answer
    HostRegistry(pipeline.redis).beat(HostInfo(name="db1"), "w-db1")
    answer = (pipeline.send("stop web", user_id="UOPERATOR").json or {})["text"]
    assert answer.startswith(":question: Which host? 2 Docker hosts are live: `db1`, `local`")
    assert "`@all" not in answer  # stop does not fan out
    answer = (pipeline.send("ps", user_id="UOPERATOR").json or {})["text"]
    assert "`@all ps` for every host" in answer
    assert not list(pipeline.redis.scan_iter("dockbolt:job:*"))
