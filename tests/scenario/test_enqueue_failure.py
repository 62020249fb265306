"""Durable intake: "accepted" is said only once the job is recorded and on the queue; when the queue's Redis
cannot take it, the ack says so, nothing is promised, and the record the job got is closed."""

from __future__ import annotations

import socket

import pytest
from redis import Redis
from redis.exceptions import RedisError

from bot.enqueue import Dispatcher
from dockbolt.core.contract import JobRequest, new_job_id
from tests.support.pipeline import CHANNEL, Pipeline, poll_until


def _dead_redis() -> Redis:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)


def test_a_job_the_queue_refused_leaves_nothing_behind(pipeline: Pipeline) -> None:
    dispatcher = Dispatcher(pipeline.bot.client, pipeline.redis, pipeline.settings.job_secret)
    dispatcher.redis = _dead_redis()
    job = JobRequest(job_id=new_job_id(), verb="ps", args={}, user_id="UOPERATOR", channel_id=CHANNEL,
                     command_text="ps")
    with pytest.raises(RedisError):
        dispatcher.accept(job, timeout=30)
    # recorded and queued in one MULTI/EXEC: neither happened, so nothing counts against the user
    assert dispatcher.store.get(job.job_id) is None
    assert dispatcher.store.in_flight("UOPERATOR") == 0


def test_the_ack_says_accepted_only_once_the_job_is_queued(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps", user_id="UOPERATOR")
    job_id = pipeline.job_of(resp)
    assert job_id is not None
    # queued and recorded by the time the ack arrived: no waiting for the lazy listener or the card
    assert pipeline.redis.exists(f"rq:job:{job_id}") and pipeline.redis.exists(f"dockbolt:job:{job_id}")
    card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job_id))
    poll_until(lambda: Dispatcher(pipeline.bot.client, pipeline.redis, pipeline.settings.job_secret)
               .store.thread_of(job_id) == card.ts, what="the card's ts recorded for the worker")
