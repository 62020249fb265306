"""The whole pipeline against real parts: signed request → bot → Redis/RQ → worker process → Docker → thread.

Slack is the only stand-in. Containers the bot creates are labelled ``dhtest.run=<run id>`` (user labels
may not start with ``dockbolt.``) and removed in teardown.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import docker
import docker.errors
import pytest

from bot.enqueue import Dispatcher
from dockbolt.console.slack_standin import Message
from dockbolt.core.contract import JobRequest, new_job_id
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, HOST, Pipeline

pytestmark = pytest.mark.integration
JOB_WAIT = 90.0


@pytest.fixture
def live(pipelines: StartPipeline) -> Pipeline:
    """The pipeline with one real worker process; what the bot created is removed afterwards."""
    return pipelines()


# Containers these tests start themselves, labelled as if dockbolt had made them: chat may act on them.
MANAGED = {"dockbolt.managed": "true"}


def job_of(p: Pipeline, text: str, user: str = "UOPERATOR") -> str:
    """Send a command; return its job id (asserting it was accepted)."""
    resp = p.send(text, user_id=user)
    job_id = p.job_of(resp)
    assert job_id is not None, resp.body
    return job_id


def finished(p: Pipeline, job_id: str, timeout: float = JOB_WAIT) -> tuple[Message, list[Message]]:
    """Wait for the job's card to reach a final status; return it and its thread replies."""
    def done() -> Message | None:
        card = p.standin.find_card(job_id)
        return card if card is not None and card.status in ("done", "failed", "timed_out", "lost") else None

    try:
        card = p.standin.wait_for(done, timeout=timeout)
    except TimeoutError as exc:
        raise AssertionError(f"job {job_id} did not finish: {exc}\nworker log:\n{p.worker_log()}") from exc
    return card, p.standin.thread(CHANNEL, card.ts)


def thread_text(replies: list[Message]) -> str:
    """Everything said in a thread, files' comments included."""
    return "\n".join(r.text for r in replies)


def test_run_ps_logs_stats_stop_rm(live: Pipeline, docker_client: docker.DockerClient, test_image: str,
                                   test_run_id: str) -> None:
    name = f"dhit-{test_run_id}-web"
    job = job_of(live, f"run -d --name {name} -l dhtest.run={test_run_id} -e GREETING=hello-from-env "
                       f"{test_image} sh -c 'echo booted; echo $GREETING; while true; do sleep 1; done'")
    card, replies = finished(live, job)
    assert card.status == "done", thread_text(replies)
    container = docker_client.containers.get(name)
    assert container.status == "running"
    assert container.labels["dockbolt.managed"] == "true"
    assert container.labels["dockbolt.created-by"] == "UOPERATOR"
    assert container.labels["dockbolt.job"] == job
    assert name in thread_text(replies)

    card, replies = finished(live, job_of(live, f"ps --filter name={name}"))
    assert card.status == "done" and name in thread_text(replies)

    time.sleep(1)  # the container's first lines
    card, replies = finished(live, job_of(live, f"logs {name} --tail all", user="UVIEWER"))
    assert card.status == "done"
    assert "booted" in thread_text(replies) and "hello-from-env" in thread_text(replies)

    card, replies = finished(live, job_of(live, f"stats {name}", user="UVIEWER"))
    assert card.status == "done" and name in thread_text(replies)
    assert re.search(r"\d(\.\d+)?[KMG]iB / \d+(\.\d+)?[KMG]iB", thread_text(replies))

    card, replies = finished(live, job_of(live, f"stop -t 1 {name}"))
    assert card.status == "done", thread_text(replies)
    container.reload()
    assert container.status == "exited"

    card, replies = finished(live, job_of(live, f"rm {name}"))
    assert card.status == "done", thread_text(replies)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)


def test_viewer_stop_is_denied_and_the_container_keeps_running(
        live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> None:
    c = docker_client.containers.run(test_image, ["sleep", "600"], detach=True,
                                     name=f"dhit-{test_run_id}-keep",
                                     labels={"dhtest.run": test_run_id, **MANAGED})
    resp = live.send(f"stop {c.name}", user_id="UVIEWER")
    assert resp.json is not None and "not allowed" in resp.json["text"]
    time.sleep(2)
    c.reload()
    assert c.status == "running"
    assert live.standin.messages(CHANNEL) == []


def test_a_3000_line_log_arrives_whole_as_a_file(
        live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> None:
    script = 'i=1; while [ $i -le 3000 ]; do echo "line $i of the log"; i=$((i+1)); done; sleep 600'
    c = docker_client.containers.run(test_image, ["sh", "-c", script], detach=True,
                                     name=f"dhit-{test_run_id}-chatty",
                                     labels={"dhtest.run": test_run_id, **MANAGED})
    deadline = time.monotonic() + 30
    while b"line 3000 of" not in c.logs(tail=1) and time.monotonic() < deadline:
        time.sleep(0.2)
    card, _ = finished(live, job_of(live, f"logs {c.name} --tail all"))
    assert card.status == "done"
    files = [f for f in live.standin.files if f.thread_ts == card.ts]
    assert len(files) == 1
    lines = files[0].text.splitlines()
    assert len(lines) == 3000
    assert lines[0] == "line 1 of the log" and lines[-1] == "line 3000 of the log"
    assert lines == [f"line {i} of the log" for i in range(1, 3001)]


def test_docker_errors_are_shown_in_dockers_words(live: Pipeline, test_run_id: str) -> None:
    missing = f"dhit-{test_run_id}-nosuch"
    card, replies = finished(live, job_of(live, f"stop {missing}"))
    assert card.status == "failed"
    text = thread_text(replies)
    assert f"No such container: {missing}" in text
    assert "Traceback" not in text


def test_shell_metacharacters_are_inert(live: Pipeline, test_image: str, test_run_id: str,
                                        tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"$(touch {marker}) ; touch {marker} && `touch {marker}` | cat > {marker}"
    name = f"dhit-{test_run_id}-echo"
    card, replies = finished(live, job_of(
        live, f"run --name {name} -l dhtest.run={test_run_id} {test_image} echo '{payload}'"))
    assert card.status == "done", thread_text(replies)
    time.sleep(1)
    card, replies = finished(live, job_of(live, f"logs {name} --tail all"))
    # echo got it verbatim: no shell anywhere interpreted it
    assert payload in html.unescape(thread_text(replies))
    assert not marker.exists()


def test_killing_the_worker_mid_job_is_reported_in_the_thread(
        live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> None:
    # busybox `sleep` as PID 1 ignores SIGTERM, so `stop -t 60` keeps the job busy for a minute.
    c = docker_client.containers.run(test_image, ["sleep", "600"], detach=True,
                                     name=f"dhit-{test_run_id}-stubborn",
                                     labels={"dhtest.run": test_run_id, **MANAGED})
    job = job_of(live, f"stop -t 60 {c.name}")
    live.standin.wait_for(lambda: ((card := live.standin.find_card(job)) is not None
                                   and card.status == "running") or None, timeout=JOB_WAIT)
    time.sleep(1)
    worker = live.workers[0]
    # RQ runs each job in a forked work horse in its own session: kill both, as a host crash would.
    horses = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert horses, "the work horse should be running the job"
    for pid in [worker.pid, *map(int, horses)]:
        os.kill(pid, signal.SIGKILL)
    worker.wait()
    card, replies = finished(live, job, timeout=60)
    assert card.status == "lost"
    assert "stopped responding" in thread_text(replies)


def test_run_inspects_like_docker_run(live: Pipeline, docker_client: docker.DockerClient, test_image: str,
                                      test_run_id: str, docker_cli: str) -> None:
    flags = ["-p", "18931:80", "-p", "127.0.0.1:18932:81/udp", "-e", "MODE=prod", "-l", "team=core",
             "-l", f"dhtest.run={test_run_id}", "--memory", "64m", "--cpus", "0.5",
             "--restart", "unless-stopped", "-w", "/tmp", "-u", "1000:1000"]
    ours, theirs = f"dhit-{test_run_id}-ours", f"dhit-{test_run_id}-cli"
    card, replies = finished(live, job_of(live, " ".join(["run", "-d", "--name", ours, *flags, test_image,
                                                          "sleep", "600"])))
    assert card.status == "done", thread_text(replies)
    subprocess.run([docker_cli, "run", "-d", "--name", theirs, *[f.replace("1893", "1894") for f in flags],
                    test_image, "sleep", "600"], check=True, capture_output=True)
    a, b = docker_client.api.inspect_container(ours), docker_client.api.inspect_container(theirs)
    for key in ("Memory", "NanoCpus", "RestartPolicy"):
        assert a["HostConfig"][key] == b["HostConfig"][key], key
    assert {k: [p["HostPort"].replace("1894", "1893") for p in v] for k, v in
            b["HostConfig"]["PortBindings"].items()} == {k: [p["HostPort"] for p in v] for k, v in
                                                         a["HostConfig"]["PortBindings"].items()}
    assert a["Config"]["Env"] == b["Config"]["Env"]
    for key in ("User", "WorkingDir"):
        assert a["Config"][key] == b["Config"][key], key
    ours_labels = {k: v for k, v in a["Config"]["Labels"].items() if not k.startswith("dockbolt.")}
    assert ours_labels == b["Config"]["Labels"]


def dispatcher(live: Pipeline) -> Dispatcher:
    """The bot's way of accepting a job, for jobs the slash command would never build."""
    return Dispatcher(live.bot.client, live.redis, live.settings.job_secret,
                      deliver=live.bot.deliverer.deliver)


def test_a_job_that_times_out_says_so_in_its_thread(
        live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> None:
    c = docker_client.containers.run(test_image, ["sleep", "600"], detach=True,
                                     name=f"dhit-{test_run_id}-slow",
                                     labels={"dhtest.run": test_run_id, **MANAGED})
    job = JobRequest(job_id=new_job_id(), verb="stop", args={"names": [c.name], "timeout": 30},
                     user_id="UOPERATOR", channel_id=CHANNEL, command_text=f"stop -t 30 {c.name}", host=HOST)
    # A 3-second job timeout (instead of the verb's own) for a stop that needs 30 s.
    dispatcher(live).dispatch(job, timeout=3)
    card, replies = finished(live, job.job_id)
    assert card.status == "timed_out"
    assert "timed out" in thread_text(replies) and "at most 3 s" in thread_text(replies)


def test_a_job_whose_args_do_not_fit_is_refused_in_its_thread_and_touches_nothing(
        live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> None:
    c = docker_client.containers.run(test_image, ["sleep", "600"], detach=True,
                                     name=f"dhit-{test_run_id}-kept",
                                     labels={"dhtest.run": test_run_id, **MANAGED})
    # A payload the bot would never build (a newer bot, or a hand-made job): rm with a string for force.
    job = JobRequest(job_id=new_job_id(), verb="rm", args={"names": [c.name], "force": "yes"},
                     user_id="UOPERATOR", channel_id=CHANNEL, command_text=f"rm -f {c.name}", host=HOST)
    dispatcher(live).dispatch(job, timeout=30)
    card, replies = finished(live, job.job_id)
    assert card.status == "failed"
    text = html.unescape(thread_text(replies))
    assert "cannot accept the arguments of `rm`" in text and "RmArgs.force: expected true or false" in text
    c.reload()
    assert c.status == "running"
