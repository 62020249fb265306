"""The card's "running" edit is held back (``workers.reporter.RUNNING_AFTER``): a quick job's card goes
from queued to its result in one edit; a job still running by then shows "running"; any other card edit,
and the job's end, drop it — it never lands after the final edit. Through the real outbox in Redis."""

from __future__ import annotations

import json
import time

from redis import Redis

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from dockbolt.core.redact import Redactor
from workers.reporter import PartReporter, ThreadReporter

GRACE = 0.2


def job(job_id: str = "abcdef0123", parent: str = "") -> JobRequest:
    return JobRequest(job_id=job_id, verb="ps", args={}, user_id="U1", channel_id="C1", command_text="ps",
                      parent=parent)


def card_edits(redis: Redis, job_id: str) -> list[tuple[str, str]]:
    """(status, detail) of every card entry waiting in the job's outbox, oldest first."""
    raw = redis.lrange(f"dockbolt:outbox:{job_id}", 0, -1)
    return [(e["status"], e.get("detail", "")) for e in map(json.loads, raw) if e["op"] == "card"]


def reporter(redis_url: str) -> tuple[ThreadReporter, Redis]:
    redis = Redis.from_url(redis_url)
    return ThreadReporter(Outbox(redis), job(), Redactor()), redis


def test_a_job_that_ends_within_the_grace_has_one_card_edit_its_result(redis_url: str) -> None:
    rep, redis = reporter(redis_url)
    rep.running_soon(GRACE)
    rep.card(JobStatus.DONE, elapsed=0.05)
    time.sleep(GRACE * 2)
    assert card_edits(redis, rep.job.job_id) == [("done", "")]


def test_a_job_still_running_after_the_grace_shows_running_then_its_result(redis_url: str) -> None:
    rep, redis = reporter(redis_url)
    rep.running_soon(GRACE)
    time.sleep(GRACE * 3)
    assert card_edits(redis, rep.job.job_id) == [("running", "")]
    rep.no_running()
    rep.card(JobStatus.DONE, elapsed=1.0)
    assert [s for s, _ in card_edits(redis, rep.job.job_id)] == ["running", "done"]


def test_a_progress_line_before_the_grace_is_not_overwritten_by_a_bare_running(redis_url: str) -> None:
    rep, redis = reporter(redis_url)
    rep.running_soon(GRACE)
    rep.progress("Step 1/4 : FROM busybox")
    time.sleep(GRACE * 3)
    assert card_edits(redis, rep.job.job_id) == [("running", "Step 1/4 : FROM busybox")]


def test_no_running_drops_the_held_back_edit(redis_url: str) -> None:
    rep, redis = reporter(redis_url)
    rep.running_soon(GRACE)
    rep.no_running()
    time.sleep(GRACE * 3)
    assert card_edits(redis, rep.job.job_id) == []


def test_the_final_edit_always_comes_after_a_running_edit_racing_it(redis_url: str) -> None:
    """The grace ends just as the job does, many times: "running" is never the last word."""
    redis = Redis.from_url(redis_url)
    for i in range(30):
        rep = ThreadReporter(Outbox(redis), job(f"race{i:06d}"), Redactor())
        rep.running_soon(0.01)
        time.sleep(0.01)
        rep.no_running()
        rep.card(JobStatus.DONE)
        assert card_edits(redis, rep.job.job_id)[-1][0] == "done"


def test_a_fan_out_part_shows_its_parent_running_only_after_the_grace(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    parent = job("parent0001")
    JobStore(redis).record_queued(parent)
    quick = PartReporter(Outbox(redis), job("part000001", parent=parent.job_id), Redactor())
    quick.running_soon(GRACE)
    quick.no_running()  # it ended first
    time.sleep(GRACE * 2)
    assert card_edits(redis, parent.job_id) == []
    slow = PartReporter(Outbox(redis), job("part000002", parent=parent.job_id), Redactor())
    slow.running_soon(GRACE / 2)
    time.sleep(GRACE * 2)
    assert card_edits(redis, parent.job_id) == [("running", "")]
