"""The real Bolt app over HTTP, fed signed slash commands; Slack is the recording stand-in."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from bot.messages import accepted_job_id
from dockbolt.core.contract import JOB_FUNC, JobRequest
from dockbolt.core.jobsign import open_envelope
from dockbolt.core.jobstore import JobStore
from tests.support.pipeline import CHANNEL, QUEUE, Pipeline, poll_until

pytestmark = pytest.mark.scenario


def queued_jobs(p: Pipeline) -> list[JobRequest]:
    """The job contracts currently waiting on the queue (each one signed with the job secret)."""
    q = Queue(QUEUE, connection=p.redis, serializer=JSONSerializer)
    out = []
    for job in q.jobs:
        assert job.func_name == JOB_FUNC
        out.append(JobRequest.from_dict(open_envelope(job.args[0], p.settings.job_secret)))
    return out


def settle(p: Pipeline) -> None:
    """Give the lazy listener time to act, so 'nothing happened' assertions mean something."""
    time.sleep(0.5)


def test_unsigned_request_is_refused_and_posts_nothing(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps", sign=False)
    assert resp.status == 401
    settle(pipeline)
    assert pipeline.standin.messages() == []
    assert queued_jobs(pipeline) == []


def test_stale_request_is_refused_and_posts_nothing(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps", timestamp=int(time.time()) - 6 * 60)
    assert resp.status == 401
    settle(pipeline)
    assert pipeline.standin.messages() == []
    assert queued_jobs(pipeline) == []


def test_unknown_verb_suggests_the_closest_and_queues_nothing(pipeline: Pipeline) -> None:
    resp = pipeline.send("stpo web")
    assert resp.status == 200
    assert resp.json is not None and resp.json.get("response_type", "ephemeral") == "ephemeral"
    assert "`stop`" in resp.json["text"] and "help" in resp.json["text"]
    settle(pipeline)
    assert pipeline.standin.messages() == []
    assert queued_jobs(pipeline) == []


def test_bad_flag_answers_with_usage(pipeline: Pipeline) -> None:
    resp = pipeline.send("stop --bogus web")
    assert resp.status == 200 and resp.json is not None
    assert "--bogus" in resp.json["text"]
    assert "Usage: `/docker stop" in resp.json["text"]
    settle(pipeline)
    assert queued_jobs(pipeline) == []


def test_viewer_cannot_stop_and_nothing_is_posted(pipeline: Pipeline) -> None:
    resp = pipeline.send("stop web", user_id="UVIEWER")
    assert resp.status == 200 and resp.json is not None
    assert "not allowed" in resp.json["text"]
    assert "stop" in resp.json["text"] and "viewer" in resp.json["text"]
    settle(pipeline)
    assert pipeline.standin.messages() == []
    assert queued_jobs(pipeline) == []


def test_unbound_user_is_denied_by_default(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps", user_id="USTRANGER")
    assert resp.json is not None and "not allowed" in resp.json["text"]
    assert accepted_job_id(resp.json) is None
    settle(pipeline)
    assert queued_jobs(pipeline) == []


def test_accepted_command_posts_a_card_and_queues_the_contract(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps -a --filter name=web")
    assert resp.status == 200 and resp.body == ""  # a quiet ack: Slack shows nothing, the card says it
    card = pipeline.standin.wait_for(lambda: next(iter(pipeline.standin.messages(CHANNEL)), None))
    assert card.status == "queued" and card.job_id is not None
    assert pipeline.job_of(resp) == card.job_id  # the job recorded for this command's response_url
    assert "<@UOPERATOR>" in card.text
    jobs = poll_until(lambda: queued_jobs(pipeline))
    (job,) = jobs
    assert job.job_id == card.job_id
    assert job.verb == "ps" and job.args == {"all": True, "filters": {"name": ["web"]}, "format": ""}
    assert job.user_id == "UOPERATOR" and job.channel_id == CHANNEL
    # queued before the card existed (durable intake): the worker finds the card's ts in the job store
    assert job.thread_ts is None
    poll_until(lambda: JobStore(pipeline.redis).thread_of(job.job_id) == card.ts)


def test_shell_metacharacters_arrive_as_literal_arguments(pipeline: Pipeline) -> None:
    evil = "run --name evil1 dockbolt-test/busybox sh -c 'echo $(id); rm -rf / && `reboot` | cat'"
    resp = pipeline.send(evil)
    assert pipeline.job_of(resp) is not None, resp.body
    (job,) = poll_until(lambda: queued_jobs(pipeline))
    assert job.args["command"] == ["sh", "-c", "echo $(id); rm -rf / && `reboot` | cat"]
    assert job.args["image"] == "dockbolt-test/busybox"


def test_card_falls_back_to_response_url_when_not_in_channel(pipeline: Pipeline) -> None:
    pipeline.faults.fail_channel("CCLOSED", error="not_in_channel")
    resp = pipeline.send("ps", channel_id="CCLOSED")
    assert resp.body == ""  # quiet: no card can say it, so the lazy listener says "accepted" instead
    post = pipeline.standin.wait_for(lambda: next(iter(pipeline.standin.response_posts), None))
    assert "can't post in this channel" in post.text
    note = pipeline.standin.wait_for(
        lambda: next((r for r in pipeline.standin.response_posts if "accepted as job" in r.text), None))
    assert note.ephemeral and accepted_job_id(note.payload) == pipeline.job_of(resp)
    (job,) = poll_until(lambda: queued_jobs(pipeline))
    assert job.thread_ts is None and job.response_url


def test_group_binding_holds_only_in_its_channel(redis_url: str, tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.pipeline import start_pipeline

    p = start_pipeline(redis_url, Path(str(tmp_path)), usergroups={"SVIEWERS": ["UMEMBER"]})
    try:
        inside = p.send("ps", user_id="UMEMBER", channel_id=CHANNEL)
        elsewhere = p.send("ps", user_id="UMEMBER", channel_id="COTHER")
        stop = p.send("stop web", user_id="UMEMBER", channel_id=CHANNEL)
        accepted = p.job_of(inside)
    finally:
        p.close()
    assert accepted is not None, inside.body
    assert elsewhere.json is not None and "not allowed" in elsewhere.json["text"]
    assert stop.json is not None and "not allowed" in stop.json["text"]


def test_help_lists_only_what_the_caller_may_run(pipeline: Pipeline) -> None:
    viewer = pipeline.send("help", user_id="UVIEWER")
    operator = pipeline.send("help", user_id="UOPERATOR")
    assert viewer.json is not None and operator.json is not None
    assert "ps" in viewer.json["text"] and "stop" not in viewer.json["text"]
    assert "stop" in operator.json["text"]
    settle(pipeline)
    assert queued_jobs(pipeline) == [] and pipeline.standin.messages() == []


def test_jobs_lists_the_callers_recent_jobs(pipeline: Pipeline) -> None:
    first = pipeline.send("ps")
    assert pipeline.job_of(first) is not None, first.body
    poll_until(lambda: queued_jobs(pipeline))
    listing = pipeline.send("jobs")
    other = pipeline.send("jobs", user_id="UVIEWER")
    assert listing.json is not None and other.json is not None
    job_id = queued_jobs(pipeline)[0].job_id
    assert job_id in listing.json["text"] and "queued" in listing.json["text"]
    assert job_id not in other.json["text"]


def test_healthz_says_no_worker_serves_the_queue(pipeline: Pipeline) -> None:
    # This pipeline runs no worker: the bot is up and Redis answers, but nothing would run a job.
    assert pipeline.bot.server is not None
    url = f"http://127.0.0.1:{pipeline.bot.server.port}/healthz"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=5)
    assert err.value.code == 503
    assert json.loads(err.value.read()) == {"ok": False, "redis": True,
                                            "queues": {QUEUE: {"workers": 0}}}
