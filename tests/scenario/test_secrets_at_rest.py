"""`-e KEY=VALUE` values travel only inside the signed job: not in the ack, the card, the job list, the job
record, the audit trail, RQ's description, the bot's log — anywhere in Redis but the signed payload."""

from __future__ import annotations

import logging

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from bot.messages import accepted_job_id
from tests.support.pipeline import CHANNEL, QUEUE, Pipeline, poll_until

VALUE = "hunter2-s3cr3t-9f8e7d"


def _redis_dump(p: Pipeline, skip: set[bytes]) -> str:
    """Every string, hash, list, set, sorted set and stream in Redis, as text (``skip``: hash fields)."""
    out: list[str] = []
    for key in p.redis.scan_iter(count=1000):
        kind = p.redis.type(key)
        if kind == b"string":
            out.append(repr(p.redis.get(key)))
        elif kind == b"hash":
            out += [repr((k, v)) for k, v in p.redis.hgetall(key).items()
                    if not (key.startswith(b"rq:job:") and k in skip)]
        elif kind == b"list":
            out.append(repr(p.redis.lrange(key, 0, -1)))
        elif kind == b"set":
            out.append(repr(p.redis.smembers(key)))
        elif kind == b"zset":
            out.append(repr(p.redis.zrange(key, 0, -1)))
        elif kind == b"stream":
            out.append(repr(p.redis.xrange(key)))
    return "\n".join(out)


def test_env_values_are_kept_only_in_the_signed_job(pipeline: Pipeline,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    resp = pipeline.send(f"run --name web -e DB_PASSWORD={VALUE} -e MODE=prod busybox", user_id="UOPERATOR")
    assert resp.json is not None
    job_id = accepted_job_id(resp.json)
    assert job_id is not None, resp.body
    ack = str(resp.json)
    assert VALUE not in ack and "DB_PASSWORD=***" in ack
    assert "was typed in chat" in ack  # the private warning, naming the variable
    card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job_id))
    assert "DB_PASSWORD=***" in card.text and VALUE not in str(pipeline.standin.messages(CHANNEL))
    poll_until(lambda: pipeline.redis.exists(f"rq:job:{job_id}"), what="the job on the queue")
    jobs = pipeline.send("jobs", user_id="UOPERATOR")
    assert "DB_PASSWORD=***" in str(jobs.json) and VALUE not in str(jobs.json)

    [job] = Queue(QUEUE, connection=pipeline.redis, serializer=JSONSerializer).jobs
    assert VALUE in str(job.args)  # the signed payload is where it travels (the control)
    assert VALUE not in str(job.description)
    everything_else = _redis_dump(pipeline, skip={b"data"})
    assert "DB_PASSWORD" in everything_else  # the dump does reach the job record and the audit stream
    assert VALUE not in everything_else
    assert VALUE not in caplog.text
