"""Buttons through the real endpoint: signed block_actions payloads, authorized as the clicker; approvals
(two-person rule) and confirmations. No worker: what is queued, posted and said is what is checked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from dockbolt.console.standin.models import Ephemeral, Message
from dockbolt.core.buttons import container_buttons
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobsign import open_envelope
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from tests.support.clicks import choices, click
from tests.support.pipeline import CHANNEL, HOST, QUEUE, TEST_CONFIG, Pipeline, poll_until, start_pipeline

pytestmark = pytest.mark.scenario

APPROVALS = TEST_CONFIG + """
[[policy.approvals]]
verbs = ["rm"]
containers = ["prod-*"]
approvers = { users = ["UADMIN", "UOPERATOR", "UVIEWER"] }
expires = "{expires}"

[policy.confirm]
rm = "always"
stop = "many"
"""


def queued(p: Pipeline) -> list[JobRequest]:
    q = Queue(QUEUE, connection=p.redis, serializer=JSONSerializer)
    return [JobRequest.from_dict(open_envelope(j.args[0], p.settings.job_secret)) for j in q.jobs]


def card_with_buttons(p: Pipeline, running: bool = True) -> Message:
    """A done job's card offering what a `run -d web` result offers (as a worker writes it)."""
    job = JobRequest(job_id="b0000000001", verb="run", args={}, user_id="UOPERATOR", channel_id=CHANNEL,
                     command_text="run -d --name web nginx", host=HOST)
    JobStore(p.redis).record_queued(job)
    Outbox(p.redis).card(job.job_id, JobStatus.DONE, buttons=container_buttons("web", running, HOST))
    def offered() -> Message | None:
        return next((m for m in p.standin.messages() if m.job_id == job.job_id and len(m.blocks or ()) > 2),
                    None)

    return p.standin.wait_for(offered)


def said_privately(p: Pipeline, words: str) -> str:
    return p.standin.wait_for(lambda: next((r.text for r in p.standin.response_posts if words in r.text),
                                           None), timeout=10)


@pytest.fixture
def approvals(redis_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    p = start_pipeline(redis_url, tmp_path, APPROVALS.replace("{expires}", "15m"))
    yield p
    p.close()


def test_a_card_offers_logs_restart_and_a_confirmed_stop(pipeline: Pipeline) -> None:
    card = card_with_buttons(pipeline)
    offered = choices(card.blocks)
    assert list(offered) == ["Logs", "Restart", "Stop"]
    stop = offered["Stop"][0]
    assert stop["confirm"]["text"]["text"] == "Stop `web`?" and stop["style"] == "danger"
    assert offered["Restart"][0]["value"] == f"@{HOST} restart web"


def test_a_viewers_restart_click_is_denied_and_an_operators_runs_as_the_operator(pipeline: Pipeline) -> None:
    card = card_with_buttons(pipeline)
    assert click(pipeline, card, "Restart", "UVIEWER").status == 200
    denied = said_privately(pipeline, "restart")
    assert "not allowed" in denied.lower() or "viewer" in denied
    assert queued(pipeline) == []

    assert click(pipeline, card, "Restart", "UADMIN").status == 200
    job = poll_until(lambda: next(iter(queued(pipeline)), None), timeout=10)
    assert (job.verb, job.user_id, job.args["names"]) == ("restart", "UADMIN", ["web"])
    assert job.in_thread == card.ts
    # its card goes into the clicked card's thread
    new_card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job.job_id), timeout=10)
    assert new_card.thread_ts == card.ts and "<@UADMIN>" in new_card.text


def test_a_forged_click_is_refused_like_the_typed_command(pipeline: Pipeline) -> None:
    """A payload whose value says `rm -f web` is a command the clicker types: a viewer may not."""
    card = card_with_buttons(pipeline)
    button = {"type": "button", "action_id": "dockbolt_confirmed:0", "value": "rm -f web",
              "text": {"type": "plain_text", "text": "Go"}}
    forged = Message(card.channel, card.ts, card.text,
                     blocks=[{"type": "actions", "block_id": "x", "elements": [button]}])
    click(pipeline, forged, "Go", "UVIEWER")
    said_privately(pipeline, "rm")
    assert queued(pipeline) == []


def test_a_badly_signed_click_is_refused(pipeline: Pipeline) -> None:
    card = card_with_buttons(pipeline)
    from dockbolt.console.block_actions import ClickSource, block_actions, element_action
    element, block_id, option = choices(card.blocks)["Restart"]
    payload = block_actions(action=element_action(element, block_id, option),
                            source=ClickSource.of_message(card), user_id="UADMIN",
                            response_url=pipeline.standin.new_response_url())
    assert pipeline.slash.send_interaction(payload, sign=False).status == 401
    time.sleep(0.5)
    assert queued(pipeline) == []


def test_confirmation_asks_first_and_runs_only_on_yes(approvals: Pipeline) -> None:
    ack = approvals.send("rm web")
    assert ack.json is not None and "Nothing has run yet" in ack.json["text"]
    buttons = choices(ack.json["blocks"])
    assert set(buttons) == {"Yes, remove", "Cancel"}
    time.sleep(0.5)
    assert queued(approvals) == []
    two = approvals.send("stop web db")
    assert two.json is not None and "Nothing has run yet" in two.json["text"]
    one = approvals.send("stop web")
    assert one.json is None or "Nothing has run yet" not in one.json.get("text", "")
    poll_until(lambda: [j for j in queued(approvals) if j.verb == "stop"], timeout=10)

    asked = Ephemeral(CHANNEL, "UOPERATOR", ack.json["text"], "1.000001", blocks=ack.json["blocks"])
    click(approvals, asked, "Cancel", "UOPERATOR")
    cancelled = approvals.standin.wait_for(lambda: next((r for r in approvals.standin.response_posts
                                                         if "Cancelled" in r.text), None), timeout=10)
    assert cancelled.replace_original
    time.sleep(0.5)
    assert not [j for j in queued(approvals) if j.verb == "rm"]
    click(approvals, asked, "Yes, remove", "UOPERATOR")
    rm = poll_until(lambda: [j for j in queued(approvals) if j.verb == "rm"], timeout=10)
    assert rm[0].args["names"] == ["web"] and rm[0].user_id == "UOPERATOR"
    done = said_privately(approvals, "Confirmed")
    assert rm[0].job_id in done


def test_two_person_rule(approvals: Pipeline) -> None:
    ack = approvals.send("rm prod-web", user_id="UOPERATOR")
    assert ack.json is not None and "needs a second person" in ack.json["text"]
    request = approvals.standin.wait_for(lambda: next((m for m in approvals.standin.messages(CHANNEL)
                                                      if "asks to run" in m.text), None), timeout=10)
    assert set(choices(request.blocks)) == {"Approve", "Deny"}
    assert queued(approvals) == []

    click(approvals, request, "Approve", "UOPERATOR")  # the requester
    assert "someone else" in said_privately(approvals, "someone else")
    click(approvals, request, "Approve", "UVIEWER")  # an approver whose bindings do not allow rm
    said_privately(approvals, "rm")
    assert queued(approvals) == []

    click(approvals, request, "Approve", "UADMIN")
    job = poll_until(lambda: next(iter(queued(approvals)), None), timeout=10)
    assert (job.verb, job.user_id, job.args["names"], job.in_thread) == ("rm", "UOPERATOR", ["prod-web"],
                                                                         request.ts)
    decided = approvals.standin.wait_for(lambda: next((m for m in approvals.standin.messages(CHANNEL)
                                                      if m.ts == request.ts and "approved" in m.text), None))
    assert "<@UADMIN>" in decided.text and not choices(decided.blocks)

    click(approvals, request, "Approve", "UADMIN")  # a second click runs nothing more
    said_privately(approvals, "already approved")
    time.sleep(0.3)
    assert len(queued(approvals)) == 1


def test_an_approver_must_cover_the_host_the_command_runs_on(redis_url: str, tmp_path: Path) -> None:
    """An admin whose binding covers only `staging-*` hosts cannot approve an `rm` on this host; an admin
    whose binding covers it can (the approver's check was by verb, grants and targets only)."""
    config = APPROVALS.replace("{expires}", "15m").replace('"UVIEWER"]', '"UVIEWER", "USTAGING"]') + """
[[rbac.bindings]]
role = "admin"
users = ["USTAGING"]
hosts = ["staging-*"]
"""
    p = start_pipeline(redis_url, tmp_path, config)
    try:
        p.send("rm prod-web", user_id="UOPERATOR")
        request = p.standin.wait_for(lambda: next((m for m in p.standin.messages(CHANNEL)
                                                  if "asks to run" in m.text), None), timeout=10)
        click(p, request, "Approve", "USTAGING")
        refused = said_privately(p, f"`{HOST}`")
        assert "staging-*" in refused, refused
        time.sleep(0.3)
        assert queued(p) == []
        assert not any(m.ts == request.ts and "approved" in m.text for m in p.standin.messages(CHANNEL))

        click(p, request, "Approve", "UADMIN")
        job = poll_until(lambda: next(iter(queued(p)), None), timeout=10)
        assert (job.verb, job.user_id, job.host) == ("rm", "UOPERATOR", HOST)
    finally:
        p.close()


def test_a_denied_request_runs_nothing(approvals: Pipeline) -> None:
    approvals.send("rm prod-db", user_id="UOPERATOR")
    request = approvals.standin.wait_for(lambda: next((m for m in approvals.standin.messages(CHANNEL)
                                                      if "asks to run" in m.text), None), timeout=10)
    click(approvals, request, "Deny", "UADMIN")
    approvals.standin.wait_for(lambda: next((m for m in approvals.standin.messages(CHANNEL)
                                            if m.ts == request.ts and "denied" in m.text), None))
    click(approvals, request, "Approve", "UADMIN")
    said_privately(approvals, "already denied")
    assert queued(approvals) == []


def test_an_expired_request_says_so_and_runs_nothing(redis_url: str, tmp_path: Path) -> None:
    p = start_pipeline(redis_url, tmp_path, APPROVALS.replace("{expires}", "1s"))
    try:
        p.send("rm prod-web", user_id="UOPERATOR")
        request = p.standin.wait_for(lambda: next((m for m in p.standin.messages(CHANNEL)
                                                  if "asks to run" in m.text), None), timeout=10)
        expired = p.standin.wait_for(lambda: next((m for m in p.standin.messages(CHANNEL)
                                                  if m.ts == request.ts and "expired" in m.text), None),
                                     timeout=20)
        assert not choices(expired.blocks)
        click(p, request, "Approve", "UADMIN")
        said_privately(p, "already expired")
        assert queued(p) == []
    finally:
        p.close()
