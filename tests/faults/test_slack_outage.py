"""Slack fails, the work does not: 429 storms with long Retry-After, 5xx, a Slack that refuses connections,
failing uploads — and the bot killed (SIGKILL) or stopped (SIGTERM) right after a burst.

Real bot (in-process, or a `dockbolt bot` process for the kills), real Redis, real workers, real engine;
Slack is the stand-in with its faults. Each test asserts: every accepted command ends with its outcome in
its thread once the fault clears (one card, one result each: nothing ran or was said twice), the card ends
in the job's true final state, the job's own outcome did not wait for Slack, and nothing leaked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from redis import Redis

from dockbolt.cli.procs import start_worker_process, stop_process
from dockbolt.console.slack_standin import Message, SlackStandIn
from dockbolt.console.slash_client import SlashClient
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from tests.integration.conftest import StartPipeline
from tests.support.harness import HOST, JOB_SECRET, SECRET, TOKEN, job_of_ack, register_placeholder
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline, poll_until
from tests.support.recorded import final_card
from tests.support.slack_faults import SlackFaults

pytestmark = pytest.mark.integration
WAIT = 120.0  # hang guard only


def replies(standin: SlackStandIn, card: Message) -> list[str]:
    return [m.text for m in standin.thread(card.channel, card.ts)]


def cards_of(standin: SlackStandIn, job_id: str) -> int:
    return [m.job_id for m in standin.messages(CHANNEL)].count(job_id)


def stored(redis: Redis, job_id: str) -> str | None:
    rec = JobStore(redis).get(job_id)
    return rec.status.value if rec is not None and rec.status.final else None


def accepted(p: Pipeline, text: str, user_id: str) -> str:
    job = p.job_of(p.send(text, user_id=user_id))
    assert job is not None, text
    return job


def assert_told_once(standin: SlackStandIn, job_id: str, status: str, says: str, cards: int = 1) -> None:
    """The job's card ends in ``status`` with one reply saying ``says``; ``cards`` cards at most."""
    card = final_card(standin, job_id)
    assert card.status == status
    said = replies(standin, card)
    assert len(said) == 1 and says in said[0], said
    assert 1 <= cards_of(standin, job_id) <= cards


def test_a_429_storm_with_long_retry_after_delays_reports_but_loses_none(pipelines: StartPipeline) -> None:
    p = pipelines()
    faults = SlackFaults(p.standin)
    faults.rate_limit("chat.postMessage", times=4, retry_after=4)
    faults.rate_limit("chat.update", times=4, retry_after=4)
    jobs = [accepted(p, "ps", user) for user in ("UOPERATOR", "UVIEWER", "UADMIN")]
    # The jobs ran and ended while Slack was still refusing: their outcome never waited on Slack.
    for job in jobs:
        poll_until(lambda j=job: stored(p.redis, j), timeout=WAIT, what=f"job {job} to end")  # type: ignore[misc]
    first_429 = min(c.at for c in p.standin.calls_to("chat.postMessage") if c.error)
    for job in jobs:
        assert_told_once(p.standin, job, "done", "running container")
    posted = [c.at for c in p.standin.calls_to("chat.postMessage") if not c.error]
    assert min(posted) - first_429 >= 3.5  # Retry-After: 4 was waited out, not hammered
    poll_until(lambda: Outbox(p.redis).backlog() == (0, 0), what="an empty outbox, nothing given up")


def test_server_errors_during_cards_replies_and_uploads_are_retried(
        pipelines: StartPipeline, test_image: str, test_run_id: str,
        docker_client: docker.DockerClient) -> None:
    p = pipelines()
    name = f"dhit-{test_run_id}-chatty"
    docker_client.containers.run(test_image, ["sh", "-c", "seq 1 5000; sleep 600"], detach=True, name=name,
                                 labels={"dhtest.run": test_run_id, "dockbolt.managed": "true"})
    poll_until(lambda: b"5000" in docker_client.containers.get(name).logs(tail=1), what="the logs")
    faults = SlackFaults(p.standin)
    for method in ("chat.postMessage", "chat.update", "files.getUploadURLExternal",
                   "files.completeUploadExternal"):
        faults.server_error(method, times=2, status=503)
    logs = accepted(p, f"logs --tail 5000 {name}", "UOPERATOR")
    ps = accepted(p, "ps", "UVIEWER")
    card = final_card(p.standin, logs)
    assert card.status == "done" and cards_of(p.standin, logs) == 1
    (upload,) = p.standin.files  # one file, uploaded once the 503s passed
    assert upload.text.splitlines()[-1] == "5000" and upload.thread_ts == card.ts
    assert_told_once(p.standin, ps, "done", "running container")


def test_a_slack_that_refuses_connections_gets_everything_when_it_is_back(
        pipelines: StartPipeline, test_image: str, test_run_id: str,
        docker_client: docker.DockerClient) -> None:
    p = pipelines()
    port = p.standin.port
    names = [f"dhit-{test_run_id}-down{i}" for i in range(3)]
    urls = [p.standin.new_response_url() for _ in names]  # what Slack sends with each command
    p.standin.stop()  # Slack is down: connections refused
    jobs: list[str] = []
    try:
        for n, user, url in zip(names, ("UOPERATOR", "UADMIN", "UOPERATOR"), urls, strict=True):
            resp = p.slash.send(f"run --name {n} -l dhtest.run={test_run_id} {test_image} sleep 600",
                                user_id=user, channel_id=CHANNEL, response_url=url)
            job = job_of_ack(p.redis, resp, user, url)
            assert job is not None, resp.body
            jobs.append(job)
        for job in jobs:
            poll_until(lambda j=job: stored(p.redis, j), timeout=WAIT,  # type: ignore[misc]
                       what=f"job {job} to end while Slack is down")
        running = docker_client.containers.list(filters={"label": f"dhtest.run={test_run_id}"})
        assert {c.name for c in running} == set(names)  # the work was done; only the telling waits
        assert Outbox(p.redis).backlog()[0] == len(jobs)
    finally:
        p.standin.start(port)
    for job, n in zip(jobs, names, strict=True):
        assert_told_once(p.standin, job, "done", n)
    poll_until(lambda: Outbox(p.redis).backlog() == (0, 0), what="an empty outbox, nothing given up")


# --- the bot killed or stopped right after a burst ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bot_process(redis_url: str, tmp_path: Path) -> Iterator[tuple[SlackStandIn, dict[str, str]]]:
    """The stand-in, and the env to run `dockbolt bot` / `dockbolt worker` processes against it."""
    config = tmp_path / "dockbolt.toml"
    config.write_text(TEST_CONFIG)
    with SlackStandIn(token=TOKEN) as standin:
        env = {**os.environ, "SLACK_API_URL": standin.base_url, "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "REDIS_URL": redis_url, "DOCKBOLT_CONFIG": str(config),
               "DOCKBOLT_JOB_SECRET": JOB_SECRET, "DOCKBOLT_HOST_NAME": HOST}
        register_placeholder(Redis.from_url(redis_url))  # the worker starts after the burst
        yield standin, env


def start_bot(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dockbolt", "bot", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/slack/events"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
    raise RuntimeError(f"the bot did not listen: {log.read_text()}")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_bot_going_away_right_after_a_burst_loses_no_accepted_command(
        bot_process: tuple[SlackStandIn, dict[str, str]], tmp_path: Path,
        how: signal.Signals) -> None:
    standin, env = bot_process
    faults = SlackFaults(standin)
    faults.slow(0.3)  # cards take a while: most are still to post when the bot goes
    bot, url = start_bot(env, tmp_path / "bot.log")
    slash = SlashClient(url, SECRET)
    jobs: list[str] = []
    try:
        for user in ("UOPERATOR", "UVIEWER", "UADMIN") * 3:
            sent_to = standin.new_response_url()
            resp = slash.send("ps", user_id=user, channel_id=CHANNEL, response_url=sent_to)
            job = job_of_ack(Redis.from_url(env["REDIS_URL"]), resp, user, sent_to)
            assert job is not None, resp.body
            jobs.append(job)
        bot.send_signal(how)
        rc = bot.wait(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
    if how is signal.SIGTERM:
        assert rc == 0, (tmp_path / "bot.log").read_text()  # stopped gracefully, not killed
    faults.slow(0)
    worker = start_worker_process(env, tmp_path / "worker.log")  # no bot at all from here on
    try:
        for job in jobs:
            # A card Slack took just as the bot was SIGKILLed, before Redis heard of it, is posted again
            # (at least once; documented); a graceful stop finishes what it sends.
            assert_told_once(standin, job, "done", "running container",
                             cards=2 if how is signal.SIGKILL else 1)
    finally:
        stop_process(worker)
