"""A job recorded but not queued (the queue's Redis failed in between) ends failed, visibly, and stops
counting against its owner's queue share."""

from __future__ import annotations

import socket

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from bot.enqueue import Dispatcher
from dockbolt.core.contract import DEFAULT_QUEUE, JobRequest, JobStatus, new_job_id
from tests.support.pipeline import CHANNEL, Pipeline


def _dead_redis() -> Redis:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)


def test_a_job_the_queue_refused_is_closed_everywhere(pipeline: Pipeline) -> None:
    dispatcher = Dispatcher(pipeline.bot.client, pipeline.redis, pipeline.settings.job_secret)
    dispatcher.queue = Queue(DEFAULT_QUEUE, connection=_dead_redis(), serializer=JSONSerializer)
    job = JobRequest(job_id=new_job_id(), verb="ps", args={}, user_id="UOPERATOR", channel_id=CHANNEL,
                     command_text="ps")
    dispatched = dispatcher.dispatch(job, timeout=30)
    record = dispatcher.store.get(job.job_id)
    assert record is not None and (record.status, record.detail) == (JobStatus.FAILED, "queue unreachable")
    assert dispatcher.store.in_flight("UOPERATOR") == 0
    card = pipeline.standin.find_card(job.job_id)
    assert card is not None and card.status == "failed"
    assert dispatched.thread_ts is not None
    assert any(f"`{job.job_id}` could not be queued" in m.text
               for m in pipeline.standin.thread(CHANNEL, dispatched.thread_ts))
