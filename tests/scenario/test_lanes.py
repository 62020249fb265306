"""Lanes on the real Redis: a job waits for the user's earlier jobs in the channel while they may still
run, and not for one that is over or gone (final or missing record, an RQ job that failed or vanished)."""

from __future__ import annotations

import threading

import pytest
from redis import Redis

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore
from dockbolt.core.lanes import Lanes, lane_key
from tests.support.pipeline import poll_until

pytestmark = pytest.mark.scenario


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def joined(redis: Redis, job_id: str, user: str = "U1", channel: str = "C1") -> JobRequest:
    job = JobRequest(job_id=job_id, verb="ps", args={}, user_id=user, channel_id=channel, command_text="ps")
    pipe = redis.pipeline()
    JobStore(redis).record_queued(job, pipe)
    Lanes(redis).join(job, pipe)
    pipe.execute()
    return job


def waits(lanes: Lanes, job: JobRequest) -> list[str]:
    """What ``job`` said it waits for, or [] when its turn came without waiting (no wall-clock guess:
    whichever of the two happens first; a job that waits goes on waiting in its thread)."""
    told: list[str] = []
    t = threading.Thread(target=lanes.wait_turn, args=(job, told.append, 0.01), daemon=True)
    t.start()
    poll_until(lambda: told or not t.is_alive(), timeout=30, what=f"job {job.job_id} waiting or started")
    return list(told)


def test_a_job_waits_for_a_running_earlier_one_and_starts_when_it_leaves(redis: Redis) -> None:
    first, second = joined(redis, "a000000001"), joined(redis, "a000000002")
    JobStore(redis).set_status(first.job_id, JobStatus.RUNNING)
    lanes = Lanes(redis)
    assert waits(lanes, second) == [first.job_id]
    lanes.leave(first)
    assert waits(lanes, second) == []


def test_a_queued_earlier_job_is_waited_for_while_rq_still_holds_it(redis: Redis) -> None:
    first, second = joined(redis, "b000000001"), joined(redis, "b000000002")
    redis.hset(f"rq:job:{first.job_id}", "status", "started")
    lanes = Lanes(redis)
    assert waits(lanes, second) == [first.job_id]
    redis.hset(f"rq:job:{first.job_id}", "status", "failed")  # e.g. its work horse was killed
    assert waits(lanes, second) == []
    assert redis.lrange(lane_key("C1", "U1"), 0, -1) == [second.job_id.encode()]


@pytest.mark.parametrize("end", ["final", "record gone", "rq job gone"])
def test_an_earlier_job_that_is_over_or_gone_does_not_hold_the_lane(redis: Redis, end: str) -> None:
    first, second = joined(redis, "c000000001"), joined(redis, "c000000002")
    if end == "final":
        JobStore(redis).set_status(first.job_id, JobStatus.LOST, "worker died")
    elif end == "record gone":
        redis.delete(f"dockbolt:job:{first.job_id}")
    # "rq job gone": queued in our record, but RQ has no such job
    assert waits(Lanes(redis), second) == []


def test_other_users_and_channels_and_jobs_without_a_lane_place_never_wait(redis: Redis) -> None:
    first = joined(redis, "d000000001")
    JobStore(redis).set_status(first.job_id, JobStatus.RUNNING)
    lanes = Lanes(redis)
    assert waits(lanes, joined(redis, "d000000002", user="U2")) == []
    assert waits(lanes, joined(redis, "d000000003", channel="C2")) == []
    stray = JobRequest(job_id="d000000004", verb="ps", args={}, user_id="U1", channel_id="C1",
                       command_text="ps")
    assert waits(lanes, stray) == []  # queued by other means: no place to wait in
