"""A sample of the RBAC matrix (tests/unit/test_rbac_matrix.py) through the real endpoint.

Signed slash commands to the real Bolt app over HTTP, with a config file as an admin would write it: the
private answer says what is missing, and a denied command leaves nothing behind — no card, no job on the
queue, no job record. "Nothing" is checked after a barrier: an allowed command sent afterwards by someone
else is seen through (card posted, job queued), and it is then the only thing there is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from dockbolt.core.contract import JobRequest
from dockbolt.core.jobsign import open_envelope
from tests.support.pipeline import CHANNEL, QUEUE, Pipeline, poll_until, start_pipeline

pytestmark = pytest.mark.scenario

CONFIG = """
[slack]
command = "/docker"

[rbac.roles.deployer]
inherits = ["operator"]
grants = ["privileged"]

[[rbac.bindings]]
role = "viewer"
users = ["UVIEWER"]

[[rbac.bindings]]
role = "operator"
users = ["UOPERATOR"]

[[rbac.bindings]]
role = "admin"
users = ["UADMIN"]

[[rbac.bindings]]
role = "deployer"
users = ["UDEPLOYER"]

[[rbac.bindings]]
role = "operator"
users = ["USTAGING"]
containers = ["staging-*"]

[[rbac.bindings]]
role = "operator"
groups = ["SOPS"]
channels = ["CTEAM"]
"""
IMAGE = "dockbolt-test/busybox"


@pytest.fixture
def p(redis_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    pipeline = start_pipeline(redis_url, tmp_path, CONFIG, usergroups={"SOPS": ["UMEMBER"]})
    yield pipeline
    pipeline.close()


def answer(p: Pipeline, text: str, user: str, channel: str = CHANNEL) -> str:
    """Send the command; return the private answer's text (and check it is private)."""
    resp = p.send(text, user_id=user, channel_id=channel)
    assert resp.status == 200 and resp.json is not None, resp
    assert resp.json.get("response_type", "ephemeral") == "ephemeral"
    return str(resp.json["text"])


def queued(p: Pipeline) -> list[JobRequest]:
    """The job contracts on the queue (each signed with the job secret)."""
    jobs = Queue(QUEUE, connection=p.redis, serializer=JSONSerializer).jobs
    return [JobRequest.from_dict(open_envelope(job.args[0], p.settings.job_secret)) for job in jobs]


def accepted(p: Pipeline, text: str, user: str) -> JobRequest:
    """Send an allowed command and wait until its card is posted and its job is on the queue."""
    resp = p.send(text, user_id=user)
    job_id = p.job_of(resp)
    assert job_id is not None, resp.body
    p.standin.wait_for(lambda: p.standin.find_card(job_id))
    return poll_until(lambda: next((j for j in queued(p) if j.job_id == job_id), None), what=f"job {job_id}")


def assert_nothing_else_happened(p: Pipeline) -> None:
    """After denied commands: a barrier command goes all the way, and it is all there is."""
    barrier = accepted(p, "ps", "UOPERATOR")
    assert [j.job_id for j in queued(p)] == [barrier.job_id]
    assert [m.job_id for m in p.standin.messages()] == [barrier.job_id]
    assert sorted(p.redis.scan_iter("dockbolt:job:*")) == [f"dockbolt:job:{barrier.job_id}".encode()]


def test_viewer_is_denied_stop_and_told_which_roles_allow_it(p: Pipeline) -> None:
    text = answer(p, "stop web", "UVIEWER")
    assert text.startswith("not allowed")
    assert "`stop` needs a role that allows it" in text and "you have viewer in this channel" in text
    assert "operator" in text and "admin" in text
    assert_nothing_else_happened(p)


def test_no_role_gets_whoami_and_help_answered_but_not_ps(p: Pipeline) -> None:
    whoami = answer(p, "whoami", "USTRANGER")
    assert "USTRANGER" in whoami and "no role" in whoami and "not allowed" not in whoami
    help_text = answer(p, "help", "USTRANGER")
    assert "`help`" in help_text and "`whoami`" in help_text and "not allowed" not in help_text
    assert "`stop`" not in help_text and "`ps`" not in help_text
    ps = answer(p, "ps", "USTRANGER")
    assert ps.startswith("not allowed") and "you have no role in this channel" in ps
    assert_nothing_else_happened(p)


def test_group_binding_holds_only_in_its_channel(p: Pipeline) -> None:
    assert "not allowed" in answer(p, "ps", "UMEMBER", channel="COTHER")
    job = accepted(p, "restart web", "UMEMBER")
    assert (job.verb, job.user_id, job.args["names"]) == ("restart", "UMEMBER", ["web"])


def test_operator_run_privileged_is_denied_naming_flag_and_grant(
    p: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dockbolt.authz")
    text = answer(p, f"run --privileged --name web {IMAGE}", "UOPERATOR")
    assert text.startswith("not allowed")
    assert "`--privileged`" in text and "`privileged`" in text
    decisions = [json.loads(r.getMessage()) for r in caplog.records if r.name == "dockbolt.authz"]
    assert [(d["user"], d["verb"], d["allowed"]) for d in decisions] == [("UOPERATOR", "run", False)]
    assert_nothing_else_happened(p)


def test_admin_holds_no_grant_either(p: Pipeline) -> None:
    text = answer(p, f"run --privileged {IMAGE}", "UADMIN")
    assert text.startswith("not allowed") and "`--privileged`" in text and "`privileged`" in text
    assert_nothing_else_happened(p)


def test_a_role_holding_the_grant_runs_privileged(p: Pipeline) -> None:
    job = accepted(p, f"run --privileged --name web {IMAGE}", "UDEPLOYER")
    assert (job.verb, job.args["privileged"], job.args["name"]) == ("run", True, "web")


def test_a_host_path_outside_the_policy_is_denied_to_everyone(p: Pipeline) -> None:
    text = answer(p, f"run -v /etc:/host-etc {IMAGE}", "UADMIN")
    assert text.startswith("not allowed") and "`-v /etc:/host-etc`" in text and "allowed_host_paths" in text
    assert_nothing_else_happened(p)


def test_container_scope_on_run(p: Pipeline) -> None:
    outside = answer(p, f"run --name web {IMAGE}", "USTAGING")
    assert outside.startswith("not allowed")
    assert "`web` is outside your containers scope (staging-*)" in outside
    unnamed = answer(p, f"run {IMAGE}", "USTAGING")
    assert unnamed.startswith("not allowed") and "give `--name` matching staging-*" in unnamed
    job = accepted(p, f"run --name staging-web {IMAGE}", "USTAGING")
    assert job.args["name"] == "staging-web"
    assert [j.job_id for j in queued(p)] == [job.job_id]
