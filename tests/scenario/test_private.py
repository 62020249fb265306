"""Private answers (`--private`, ``[slack] private_verbs``) and the quiet ack of a job whose card says it.

The bot runs over HTTP against the stand-in with a real Redis and no worker: a worker's reports are
written to the job's outbox as the worker's reporter writes them, and the bot's deliverer sends them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.messages import PRIVATE_BLOCK, accepted_job_id
from dockbolt.console.slack_standin import Ephemeral
from dockbolt.console.standin.conversations import dm_channel
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from dockbolt.core.redact import Redactor
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline, start_pipeline
from workers.reply import Reply
from workers.reporter import ThreadReporter

pytestmark = pytest.mark.scenario


def _request(p: Pipeline, job_id: str) -> JobRequest:
    rec = JobStore(p.redis).get(job_id)
    assert rec is not None
    return rec.request


def _report(p: Pipeline, job_id: str) -> ThreadReporter:
    """The reporter a worker running the job would have."""
    return ThreadReporter(Outbox(p.redis), _request(p, job_id), Redactor())


def _ephemerals(p: Pipeline, user: str, words: str) -> list[Ephemeral]:
    return [e for e in p.standin.ephemerals if e.user == user and words in e.text]


def _quiet(resp: object) -> bool:
    return getattr(resp, "status", 0) == 200 and not getattr(resp, "body", "x").strip()


def test_private_ps_answers_the_caller_alone(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps -a --private", user_id="UVIEWER")
    assert resp.json is not None and "Only you will see the answer" in resp.json["text"]
    job_id = accepted_job_id(resp.json)
    assert job_id is not None and f"job `{job_id}`" in resp.json["text"]
    assert resp.json["blocks"][0]["block_id"] == f"{PRIVATE_BLOCK}:{job_id}"  # programs: no card to wait for
    job = _request(pipeline, job_id)
    assert job.private and job.verb == "ps"
    rep = _report(pipeline, job_id)
    rep.card(JobStatus.RUNNING)
    rep.reply(Reply(text="2 containers", body="NAME  STATUS\nweb   running\ndb    running"))
    rep.card(JobStatus.DONE, elapsed=0.4)
    said = pipeline.standin.wait_for(lambda: _ephemerals(pipeline, "UVIEWER", "2 containers") or None)
    assert said[0].channel == CHANNEL and "web   running" in said[0].text
    time.sleep(1.5)  # the bot's deliverer looks every second: anything else would be out by now
    assert pipeline.standin.messages() == []  # no card, no thread message, in any channel
    assert pipeline.standin.find_card(job_id) is None
    assert Outbox(pipeline.redis).pending(job_id) == 0
    assert all(e.user == "UVIEWER" for e in pipeline.standin.ephemerals)


def test_long_private_logs_arrive_as_a_file_in_a_dm(pipeline: Pipeline) -> None:
    resp = pipeline.send("logs --private web", user_id="UVIEWER")
    job_id = accepted_job_id(resp.json)
    assert job_id is not None
    body = "\n".join(f"line {i} of the log" for i in range(500))
    _report(pipeline, job_id).reply(Reply(text="Logs of `web`", body=body, filename="web.log", log=True))
    dm = dm_channel("UVIEWER")
    message = pipeline.standin.wait_for(lambda: next((m for m in pipeline.standin.messages(dm) if m.files),
                                                      None))
    (file,) = message.files
    assert file.name == "web.log" and file.text == body and file.channel == dm
    assert "line 499 of the log" in (file.initial_comment or "")  # the preview: the last lines
    note = pipeline.standin.wait_for(lambda: _ephemerals(pipeline, "UVIEWER", "in our DM") or None)
    assert f"job `{job_id}`" in note[0].text and note[0].channel == CHANNEL
    opened = pipeline.standin.calls_to("conversations.open")
    assert opened and opened[0].params.get("users") == "UVIEWER"
    assert pipeline.standin.messages(CHANNEL) == []
    assert all(f.channel == dm for f in pipeline.standin.files)


def test_private_failures_reach_the_caller_alone(pipeline: Pipeline) -> None:
    """Docker's error from the worker, and the reaper's notices, as ephemeral messages; no card."""
    job_id = accepted_job_id(pipeline.send("inspect --private nosuch", user_id="UVIEWER").json)
    assert job_id is not None
    rep = _report(pipeline, job_id)
    rep.post("Docker said: No such container: nosuch")
    rep.card(JobStatus.FAILED, elapsed=0.1, detail="No such container: nosuch")
    pipeline.standin.wait_for(lambda: _ephemerals(pipeline, "UVIEWER", "No such container") or None)

    queued = accepted_job_id(pipeline.send("ps --private", user_id="UVIEWER").json)
    assert queued is not None
    pipeline.standin.wait_for(lambda: _ephemerals(pipeline, "UVIEWER", "No worker is serving") or None,
                              timeout=30)
    pipeline.bot.reaper.fail_after = 0.0
    pipeline.bot.reaper.run_once()
    said = pipeline.standin.wait_for(
        lambda: _ephemerals(pipeline, "UVIEWER", f"Job `{queued}` did not run") or None)
    assert "no worker served `local`" in said[0].text
    time.sleep(1.2)
    assert pipeline.standin.messages() == []


def test_private_answers_fall_back_to_the_response_url_when_the_channel_is_closed(pipeline: Pipeline) -> None:
    pipeline.faults.fail_channel("CCLOSED", error="channel_not_found")
    job_id = accepted_job_id(pipeline.send("ps --private", user_id="UVIEWER", channel_id="CCLOSED").json)
    assert job_id is not None
    _report(pipeline, job_id).reply(Reply(text="1 container", body="web"))
    post = pipeline.standin.wait_for(
        lambda: next((r for r in pipeline.standin.response_posts if "1 container" in r.text), None))
    assert post.ephemeral and post.error is None
    assert pipeline.standin.messages() == []


@pytest.mark.parametrize("text", ["stop --private web", "run --private dockbolt-test/busybox",
                                  "service rm --private web", "whoami --private"])
def test_private_is_a_usage_error_where_it_cannot_apply(pipeline: Pipeline, text: str) -> None:
    resp = pipeline.send(text, user_id="UADMIN")
    assert resp.json is not None
    assert "`--private` works only with the verbs that only read" in resp.json["text"]
    assert "Usage:" in resp.json["text"] and accepted_job_id(resp.json) is None
    time.sleep(0.3)
    assert not list(pipeline.redis.scan_iter("dockbolt:job:*"))


def test_private_verbs_in_the_config_answer_privately(redis_url: str, tmp_path: Path) -> None:
    config = TEST_CONFIG.replace('notify_channel = "CNOTIFY"',
                                 'notify_channel = "CNOTIFY"\nprivate_verbs = ["logs", "service-ls"]')
    p = start_pipeline(redis_url, tmp_path, config)
    try:
        logs = accepted_job_id(p.send("logs web", user_id="UVIEWER").json)
        service = accepted_job_id(p.send("service ls", user_id="UVIEWER").json)
        ps = p.send("ps", user_id="UVIEWER")
        assert logs is not None and service is not None and _request(p, logs).private
        assert _request(p, service).private
        ps_job = p.job_of(ps)
        assert _quiet(ps) and ps_job is not None and not _request(p, ps_job).private
        p.standin.wait_for(lambda: p.standin.find_card(ps_job))
        time.sleep(1.2)
        assert [m.job_id for m in p.standin.messages(CHANNEL)] == [ps_job]  # only the public one's card
    finally:
        p.close()


def test_quiet_ack_the_card_says_it(pipeline: Pipeline) -> None:
    resp = pipeline.send("ps", user_id="UVIEWER")
    assert _quiet(resp) and resp.json is None  # Slack shows nothing for an empty 200
    job_id = pipeline.job_of(resp)
    assert job_id is not None
    card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job_id))
    assert card.status is JobStatus.QUEUED and "<@UVIEWER>" in card.text
    time.sleep(2.0)  # past the card's grace: no "accepted" note follows a card that is there
    assert [r.text for r in pipeline.standin.response_posts] == []
    assert pipeline.standin.ephemerals == []


def test_accepted_note_when_the_bot_is_not_in_the_channel(pipeline: Pipeline) -> None:
    pipeline.faults.fail_channel("CCLOSED", error="not_in_channel")
    resp = pipeline.send("ps", channel_id="CCLOSED")
    assert _quiet(resp)
    job_id = pipeline.job_of(resp)
    note = pipeline.standin.wait_for(
        lambda: next((r for r in pipeline.standin.response_posts if "accepted as job" in r.text), None))
    assert note.ephemeral and accepted_job_id(note.payload) == job_id
    assert any("can't post in this channel" in r.text for r in pipeline.standin.response_posts)


def test_accepted_note_when_slack_is_slow_then_the_card(pipeline: Pipeline) -> None:
    pipeline.faults.slow(3.0)
    resp = pipeline.send("ps")  # the ack's user-group lookup is slow too
    started = time.time()
    assert _quiet(resp)
    job_id = pipeline.job_of(resp)
    note = pipeline.standin.wait_for(
        lambda: next((r for r in pipeline.standin.response_posts if "accepted as job" in r.text), None))
    assert accepted_job_id(note.payload) == job_id and note.at - started < 3.0  # before the card
    pipeline.faults.slow(0)
    pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job_id or ""), timeout=30)


def test_an_env_warning_still_comes_with_the_accepted_ack(pipeline: Pipeline) -> None:
    resp = pipeline.send("run -e TOKEN=s3cret dockbolt-test/busybox true", user_id="UADMIN")
    assert resp.json is not None and "accepted as job" in resp.json["text"]
    assert "`TOKEN` was typed in chat" in resp.json["text"]
    assert accepted_job_id(resp.json) is not None
