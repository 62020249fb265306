"""Jobs the worker can trust: what is pushed straight into Redis runs only if the bot signed it, once.

A real `dockbolt worker` process serves the queue. Forged, unsigned, tampered, expired, replayed and
misdirected jobs, and jobs naming other functions, callbacks, dependencies or webhooks, are pushed with
RQ's own ``Queue.enqueue`` or written raw into Redis; each must end failed in RQ with one "refused" log
line, create no container, post nothing to Slack (nor to any other URL), write no job record, and import
nothing. Each case is paired with a control pushed the same way and signed correctly, which does run
(container created, result posted), so "nothing happened" is measured against something that would have.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from redis import Redis
from rq import Callback, Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.webhook import Webhook

from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.args import RunArgs
from dockbolt.core.contract import JOB_FUNC, JobRequest, new_job_id
from dockbolt.core.contract import JobStatus as DockboltStatus
from dockbolt.core.fanout import FanOut
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.jobsign import BadSignature, open_envelope, sign
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Entry
from dockbolt.core.rbac import Policy
from dockbolt.core.settings import Secret, load_settings
from tests.support.harness import JOB_SECRET
from tests.support.pipeline import CHANNEL, HOST, QUEUE, Pipeline, poll_until, start_pipeline
from workers import trust
from workers.trust import JobRefused, TrustedJob, WorkerContext, response_url_allowed, seen_key

pytestmark = pytest.mark.integration
FORGED_CHANNEL = "CFORGED"
PROBE = "dockbolt_trust_probe"
# Imported, it leaves imported.marker next to itself; called (as a job or a callback), called.marker.
PROBE_SOURCE = """
import pathlib
pathlib.Path(__file__).with_name("imported.marker").write_text("imported")


def hook(*args, **kwargs):
    pathlib.Path(__file__).with_name("called.marker").write_text("called")
"""
SECRET = Secret(JOB_SECRET)


def _signed(job: JobRequest) -> dict[str, Any]:
    return sign(job.to_dict(), SECRET)


# --- the checks of ``accept`` one by one, against the real Redis (no worker) -------------------------------

API = "http://127.0.0.1:4567/api/"


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://hooks.slack.com/commands/T1/2/abc", True),
    ("https://hooks.slack.com:443/commands/T1/2/abc", True),
    ("http://127.0.0.1:4567/response/abc", True),          # the stand-in's, on SLACK_API_URL's origin
    ("http://hooks.slack.com/commands/T1/2/abc", False),   # not https
    ("https://hooks.slack.com:8443/x", False),
    ("https://hooks.slack.com.evil.example/x", False),
    ("https://hooks.slack.com@evil.example/x", False),
    ("https://evil.example/?https://hooks.slack.com/", False),
    ("http://127.0.0.1:4568/response/abc", False),         # same host, another port
    ("https://127.0.0.1:4567/response/abc", False),        # same host and port, another scheme
    ("http://127.0.0.1:4567\n/response/abc", False),
    ("https://hooks.slack.com/x y", False),
    ("hooks.slack.com/x", False),
])
def test_only_slack_response_urls_are_allowed(url: str, allowed: bool) -> None:
    assert response_url_allowed(url, API) is allowed


@pytest.fixture
def ctx() -> WorkerContext:
    settings = load_settings({"SLACK_API_URL": API, "DOCKBOLT_JOB_SECRET": JOB_SECRET})
    return WorkerContext(settings=settings, policy=Policy(guardrails=Guardrails(job_ttl=60)))


def _job(**over: Any) -> JobRequest:
    fields: dict[str, Any] = dict(job_id=new_job_id(), verb="ps", args={}, user_id="U1", channel_id="C1",
                                  command_text="ps -e SECRET=hunter2", queued_at=1_000_000.0)
    return JobRequest(**(fields | over))


def test_accept_runs_a_signed_job_once_and_holds_its_id_until_it_expires(
        ctx: WorkerContext, redis_server: str) -> None:
    redis, job = Redis.from_url(redis_server), _job()
    assert trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=redis, now=1_000_010.0) == job
    assert 0 < redis.ttl(seen_key(job.job_id)) <= 51  # queued_at + job_ttl - now, and a second
    with pytest.raises(JobRefused, match="replayed"):
        trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=redis, now=1_000_011.0)


def test_a_forged_job_does_not_use_up_the_id_of_the_real_one(ctx: WorkerContext, redis_server: str) -> None:
    redis, job = Redis.from_url(redis_server), _job()
    forged = sign(job.to_dict(), Secret("forger-" + "k" * 40))
    with pytest.raises(JobRefused, match="signature"):
        trust.accept(forged, rq_job_id=job.job_id, ctx=ctx, redis=redis, now=1_000_001.0)
    assert trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=redis, now=1_000_001.0) == job


@pytest.mark.parametrize(("now", "refused"), [
    (1_000_060.0, None), (1_000_061.0, re.escape("expired: queued 61 s ago, [policy] job_ttl is 60 s")),
    (1_000_000.0 - 300, None), (1_000_000.0 - 301, "in the future"),
], ids=["at-ttl", "past-ttl", "300s-ahead", "301s-ahead"])
def test_age_is_checked_against_job_ttl_and_the_clock(ctx: WorkerContext, redis_server: str, now: float,
                                                       refused: str | None) -> None:
    job = _job()
    with pytest.raises(JobRefused, match=refused) if refused else contextlib.nullcontext():
        trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=Redis.from_url(redis_server), now=now)


def test_an_expired_real_job_is_closed_in_the_store_and_a_finished_one_is_left_alone(
        ctx: WorkerContext, redis_server: str) -> None:
    redis = Redis.from_url(redis_server)
    store = JobStore(redis)
    t0 = time.time()  # the queue share forgets entries by wall-clock age
    waiting, finished = _job(user_id="UEXPIRED", queued_at=t0), _job(user_id="UEXPIRED", queued_at=t0)
    for job in (waiting, finished):
        store.record_queued(job)
    store.set_status(finished.job_id, DockboltStatus.DONE)
    assert store.in_flight("UEXPIRED") == 1
    for job in (waiting, finished):
        with pytest.raises(JobRefused, match="expired"):
            trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=redis, now=t0 + 61)
    closed, kept = store.get(waiting.job_id), store.get(finished.job_id)
    assert closed is not None and (closed.status, closed.detail) == (DockboltStatus.FAILED,
                                                                     "expired before a worker took it")
    assert kept is not None and kept.status == DockboltStatus.DONE
    assert store.in_flight("UEXPIRED") == 0  # its owner's queue share is free again


def test_an_expired_part_of_a_fan_out_closes_the_merged_reply(ctx: WorkerContext, redis_server: str) -> None:
    redis = Redis.from_url(redis_server)
    t0 = time.time()
    parent = _job(queued_at=t0)
    part = _job(queued_at=t0, parent=parent.job_id, host="db1")
    pipe = redis.pipeline()
    FanOut(redis).open(parent.job_id, ["db1"], pipe)
    JobStore(redis).record_queued(parent, pipe)
    JobStore(redis).record_queued(part, pipe)
    pipe.execute()
    here = dataclasses.replace(ctx, host_name="db1")
    with pytest.raises(JobRefused, match="expired"):
        trust.accept(_signed(part), rq_job_id=part.job_id, ctx=here, redis=redis, now=t0 + 61)
    closed = JobStore(redis).get(parent.job_id)
    assert closed is not None and (closed.status, closed.detail) == (DockboltStatus.FAILED,
                                                                     "no answer from db1")
    said = [Entry.from_json(e).text for e in redis.lrange(f"dockbolt:outbox:{parent.job_id}", 0, -1)]
    assert any("`db1`: expired before a worker took it" in t for t in said), said


def test_a_signed_job_must_still_fit_the_contract(ctx: WorkerContext, redis_server: str) -> None:
    job = _job()
    envelope = sign({**job.to_dict(), "schema": 2}, SECRET)
    with pytest.raises(JobRefused, match="not a valid job"):
        trust.accept(envelope, rq_job_id=job.job_id, ctx=ctx, redis=Redis.from_url(redis_server))


def test_a_job_signed_for_another_host_runs_nowhere_else(ctx: WorkerContext, redis_server: str) -> None:
    here = dataclasses.replace(ctx, host_name="db1")
    redis = Redis.from_url(redis_server)
    for host, shown in (("db2", "'db2'"), ("", "'(none)'")):
        job = _job(host=host)
        with pytest.raises(JobRefused, match=f"meant for host {re.escape(shown)}, this is db1"):
            trust.accept(_signed(job), rq_job_id=job.job_id, ctx=here, redis=redis, now=1_000_001.0)
    job = _job(host="db1")
    assert trust.accept(_signed(job), rq_job_id=job.job_id, ctx=here, redis=redis, now=1_000_001.0) == job


def test_a_refusal_is_one_log_line_without_the_payload(ctx: WorkerContext, redis_server: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    job = _job(response_url="https://evil.example/x")
    with caplog.at_level("WARNING", logger="workers.trust"), pytest.raises(JobRefused):
        trust.accept(_signed(job), rq_job_id=job.job_id, ctx=ctx, redis=Redis.from_url(redis_server),
                     now=1_000_001.0)
    (record,) = caplog.records
    assert record.getMessage() == (f"refused job '{job.job_id}': its response_url is not Slack's "
                                   "(hooks.slack.com or SLACK_API_URL's host)")
    assert "hunter2" not in caplog.text and "evil.example" not in caplog.text


# --- a real worker process ----------------------------------------------------------------------------


@dataclass
class World:
    """The pipeline with one worker, a second Slack stand-in (somewhere else to post), the probe module."""

    p: Pipeline
    elsewhere: SlackStandIn
    probe_dir: Path
    docker: docker.DockerClient
    image: str
    run_id: str

    @property
    def queue(self) -> Queue:
        return Queue(QUEUE, connection=self.p.redis, serializer=JSONSerializer)

    def run_job(self, name: str, channel: str = FORGED_CHANNEL, **over: Any) -> JobRequest:
        """A `run -d --name NAME` job that reports to a fresh response_url of the pipeline's stand-in."""
        args = RunArgs(image=self.image, command=("sleep", "600"), name=name,
                       labels={"dhtest.run": self.run_id}).to_dict()
        fields: dict[str, Any] = dict(job_id=new_job_id(), verb="run", args=args, user_id="UOPERATOR",
                                      channel_id=channel, command_text=f"run -d --name {name} IMAGE",
                                      response_url=self.p.standin.new_response_url(), host=HOST)
        return JobRequest(**(fields | over))

    def container(self, name: str) -> bool:
        return any(c.name == name for c in self.docker.containers.list(all=True, filters={"name": name}))

    def status(self, rq_id: str) -> str:
        """Wait until RQ has processed the job; return "finished" or "failed"."""
        def final() -> str | None:
            try:
                status = Job.fetch(rq_id, connection=self.p.redis, serializer=JSONSerializer).get_status()
            except NoSuchJobError:  # not queued yet (the bot queues after its ack)
                return None
            return status.value if status in (JobStatus.FINISHED, JobStatus.FAILED) else None
        try:
            return poll_until(final, timeout=60, what=f"job {rq_id} processed")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\nworker log:\n{self.p.worker_log()}") from exc

    def control(self) -> None:
        """A correctly signed job pushed like the forged ones: it runs, creates its container, reports."""
        name = f"dhtrust-{self.run_id}-ok-{new_job_id()}"
        job = self.run_job(name, channel=CHANNEL)
        self.queue.enqueue(JOB_FUNC, sign(job.to_dict(), SECRET), job_id=job.job_id)
        assert self.status(job.job_id) == "finished", self.p.worker_log()
        assert self.container(name)
        # nobody queued its card before it ran (no bot accepted it): the worker's first report posts it,
        # and the outbox delivers the rest there
        card = self.p.standin.wait_for(lambda: (c := self.p.standin.find_card(job.job_id)) is not None
                                       and c.status == "done" and c, timeout=60)
        assert card.status == "done"

    def markers(self) -> list[str]:
        """The probe's markers present now (the probe was imported / called)."""
        return [m for m in ("imported.marker", "called.marker") if (self.probe_dir / m).exists()]

    def traces(self) -> tuple[int, int, int]:
        """How much the forged jobs' destinations have seen so far."""
        forged = [c for c in self.p.standin.calls if c.params.get("channel") == FORGED_CHANNEL]
        return len(forged), len(self.elsewhere.calls), len(self.elsewhere.response_posts)

    def assert_refused(self, rq_id: str, why: str, job: JobRequest | None,
                       before: tuple[int, int, int]) -> None:
        """Failed in RQ, one refusal line, and nothing done anywhere since ``before`` (``traces()``)."""
        assert self.status(rq_id) == "failed"
        refusals = [line for line in self.p.worker_log().splitlines() if f"refused job '{rq_id}'" in line]
        assert len(refusals) == 1 and why in refusals[0], self.p.worker_log()
        assert self.markers() == []
        assert self.traces() == before
        assert not self.p.redis.exists(f"dockbolt:job:{rq_id}")
        if job is not None:
            assert not self.container(str(job.args["name"]))
            assert [post for post in self.p.standin.response_posts if post.url == job.response_url] == []


@pytest.fixture(scope="module")
def world(redis_server: str, tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
          test_image: str, test_run_id: str) -> Iterator[World]:
    Redis.from_url(redis_server).flushall()
    probe_dir = tmp_path_factory.mktemp("probe")
    (probe_dir / f"{PROBE}.py").write_text(PROBE_SOURCE)
    p = start_pipeline(redis_server, tmp_path_factory.mktemp("pipeline"))
    elsewhere = SlackStandIn(token="xoxb-elsewhere").start()
    try:
        p.start_worker({"PYTHONPATH": str(probe_dir)})
        yield World(p, elsewhere, probe_dir, docker_client, test_image, test_run_id)
    finally:
        p.close()
        elsewhere.stop()
        for c in docker_client.containers.list(all=True, filters={"label": f"dhtest.run={test_run_id}"}):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)


def _raw(w: World, rq_id: str, func: str, args: list[Any], **fields: str) -> None:
    """Write a job hash and push its id the way RQ would, without RQ."""
    data = zlib.compress(json.dumps([func, None, args, {}]).encode())
    w.p.redis.hset(f"rq:job:{rq_id}", mapping={"data": data, "origin": QUEUE, "status": "queued",
                                               "description": "hand-made", **fields})
    w.p.redis.rpush(f"rq:queue:{QUEUE}", rq_id)


# Each case pushes one job and returns (its RQ id, the reason word expected in the refusal line, the job).
Case = Callable[[World], tuple[str, str, JobRequest | None]]


def unsigned(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-unsigned")
    w.queue.enqueue(JOB_FUNC, {"job": job.to_dict()}, job_id=job.job_id)
    return job.job_id, "not a signed job envelope", job


def bare_payload_raw(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-bare")
    _raw(w, job.job_id, JOB_FUNC, [job.to_dict()])
    return job.job_id, "not a signed job envelope", job


def wrong_key(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-wrongkey")
    other_key = Secret("not-the-job-secret-" + "x" * 32)
    w.queue.enqueue(JOB_FUNC, sign(job.to_dict(), other_key), job_id=job.job_id)
    return job.job_id, "signature does not match", job


def tampered(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-tampered")
    envelope = _signed(job)
    envelope["job"]["user_id"] = "UADMIN"
    _raw(w, job.job_id, JOB_FUNC, [envelope])
    return job.job_id, "signature does not match", job


def expired(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-expired", queued_at=time.time() - 3600 - 60)
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=job.job_id)
    return job.job_id, "expired", job


def other_rq_id(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-otherid")
    rq_id = new_job_id()
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=rq_id)
    return rq_id, "another id", job


def foreign_response_url(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-elsewhere", response_url=w.elsewhere.new_response_url())
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=job.job_id)
    return job.job_id, "response_url", job


def other_host(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-otherhost", host="db2")  # signed for db2, pushed on this queue
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=job.job_id)
    return job.job_id, "meant for host 'db2'", job


def os_system(w: World) -> tuple[str, str, JobRequest | None]:
    rq_id = new_job_id()
    w.queue.enqueue("os.system", f"touch {w.probe_dir / 'called.marker'}", job_id=rq_id)
    return rq_id, "'os.system'", None


def probe_function_raw(w: World) -> tuple[str, str, JobRequest | None]:
    rq_id = new_job_id()
    _raw(w, rq_id, f"{PROBE}.hook", [])
    return rq_id, f"'{PROBE}.hook'", None


def callbacks(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-callbacks")
    hook = Callback(f"{PROBE}.hook")
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=job.job_id, on_success=hook, on_failure=hook,
                    on_stopped=hook)
    return job.job_id, "callbacks", job


def dependency_raw(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-depends")
    _raw(w, job.job_id, JOB_FUNC, [_signed(job)], dependency_ids=json.dumps([new_job_id()]))
    return job.job_id, "depends on other jobs", job


def webhooks(w: World) -> tuple[str, str, JobRequest | None]:
    job = w.run_job(f"dhtrust-{w.run_id}-webhook")
    hooks = [Webhook(w.elsewhere.new_response_url(), status, method="POST")
             for status in ("failed", "finished")]
    w.queue.enqueue(JOB_FUNC, _signed(job), job_id=job.job_id, webhooks=hooks)
    return job.job_id, "webhooks", job


CASES: list[Case] = [unsigned, bare_payload_raw, wrong_key, tampered, expired, other_rq_id,
                     foreign_response_url, other_host, os_system, probe_function_raw, callbacks,
                     dependency_raw, webhooks]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_untrusted_job_is_refused_and_does_nothing(world: World, case: Case) -> None:
    before = world.traces()
    assert world.markers() == []
    rq_id, why, job = case(world)
    world.control()
    world.assert_refused(rq_id, why, job, before)


def test_the_probe_would_have_left_its_markers(world: World) -> None:
    """The control for "nothing imported, nothing called": the probe does leave both markers."""
    env = {**os.environ, "PYTHONPATH": str(world.probe_dir)}
    subprocess.run([sys.executable, "-c", f"import {PROBE}; {PROBE}.hook()"], env=env, check=True)
    try:
        assert world.markers() == ["imported.marker", "called.marker"]
    finally:
        for marker in world.markers():
            (world.probe_dir / marker).unlink()


def test_a_refused_jobs_webhooks_would_have_been_sent_by_plain_rq(world: World) -> None:
    """The control for the webhook case: RQ's own Job sends them to a recorder; TrustedJob does not."""
    with SlackStandIn(token="xoxb-recorder") as recorder:
        queue = Queue("dhtrust-unserved", connection=world.p.redis, serializer=JSONSerializer)
        rq_id = queue.enqueue("os.getcwd", webhooks=[
            Webhook(recorder.new_response_url(), "failed", method="POST")]).id
        TrustedJob.fetch(rq_id, connection=world.p.redis, serializer=JSONSerializer).send_webhooks("failed")
        assert recorder.response_posts == []
        Job.fetch(rq_id, connection=world.p.redis, serializer=JSONSerializer).send_webhooks("failed")
        assert len(recorder.response_posts) == 1


def test_the_same_signed_job_runs_once(world: World) -> None:
    job = world.run_job(f"dhtrust-{world.run_id}-once", channel=CHANNEL)
    envelope = _signed(job)
    world.queue.enqueue(JOB_FUNC, envelope, job_id=job.job_id)
    assert world.status(job.job_id) == "finished" and world.container(str(job.args["name"]))
    def said() -> int:  # everything posted about the job: its card and thread, its response_url
        card = world.p.standin.find_card(job.job_id)
        thread = world.p.standin.thread(CHANNEL, card.ts) if card is not None else []
        return len(thread) + len([post for post in world.p.standin.response_posts
                                  if post.url == job.response_url])

    posts = said()
    assert posts >= 1 and 0 < world.p.redis.ttl(seen_key(job.job_id)) <= 3600 + 1
    world.queue.enqueue(JOB_FUNC, envelope, job_id=job.job_id)  # the same signed job, again
    world.control()
    assert world.status(job.job_id) == "failed"
    assert [line for line in world.p.worker_log().splitlines()
            if f"refused job '{job.job_id}': replayed" in line]
    assert said() == posts


def test_the_bot_queues_a_signed_envelope_without_the_command_text(world: World) -> None:
    resp = world.p.send("logs --tail 1 dhtrust-hunter2-nowhere")
    job_id = world.p.job_of(resp)
    assert job_id is not None, resp.body
    world.status(job_id)  # the bot's job runs (and fails: no such container), which is not the point here
    rq_job = Job.fetch(job_id, connection=world.p.redis, serializer=JSONSerializer)
    assert rq_job.func_name == JOB_FUNC and rq_job.description == f"/docker logs (job {job_id})"
    (envelope,) = rq_job.args
    job = JobRequest.from_dict(open_envelope(envelope, SECRET))
    assert job.job_id == job_id and "hunter2" in job.command_text
    tampered = dataclasses.replace(job, command_text="logs web")
    with pytest.raises(BadSignature, match="signature does not match"):
        open_envelope({**envelope, "job": tampered.to_dict()}, SECRET)
