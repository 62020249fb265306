"""Private answers through a real worker and Docker: `ps --private` and a long `logs --private`."""

from __future__ import annotations

import time

import docker
import pytest

from bot.messages import accepted_job_id
from dockbolt.console.slack_standin import Ephemeral
from dockbolt.console.standin.conversations import dm_channel
from dockbolt.core.contract import JobStatus
from dockbolt.core.jobstore import JobStore
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, Pipeline, poll_until

pytestmark = pytest.mark.integration


def _ephemeral(p: Pipeline, user: str, words: str) -> Ephemeral | None:
    return next((e for e in p.standin.ephemerals if e.user == user and words in e.text), None)


def _done(p: Pipeline, job_id: str) -> bool:
    rec = JobStore(p.redis).get(job_id)
    return rec is not None and rec.status is JobStatus.DONE


def test_private_ps_and_long_private_logs_reach_the_caller_alone(
        pipelines: StartPipeline, docker_client: docker.DockerClient, test_image: str,
        test_run_id: str) -> None:
    name = f"dhpriv-{test_run_id}"
    docker_client.containers.run(test_image, ["sh", "-c", "seq 1 3000; sleep 3600"], name=name, detach=True,
                                 labels={"dockbolt.managed": "true", "dhtest.run": test_run_id})
    p = pipelines()
    ps = accepted_job_id(p.send(f"ps --private --filter name={name}", user_id="UVIEWER").json)
    assert ps is not None
    said = p.standin.wait_for(lambda: _ephemeral(p, "UVIEWER", name), timeout=90)
    assert said.channel == CHANNEL
    poll_until(lambda: _done(p, ps), timeout=60, what="the private ps done")

    poll_until(lambda: len(docker_client.containers.get(name).logs().splitlines()) >= 3000, timeout=30,
               what="the container's output")
    logs = accepted_job_id(p.send(f"logs --private --tail all {name}", user_id="UVIEWER").json)
    assert logs is not None
    dm = dm_channel("UVIEWER")
    message = p.standin.wait_for(lambda: next((m for m in p.standin.messages(dm) if m.files), None),
                                 timeout=90)
    (file,) = message.files
    assert file.text.splitlines()[-1] == "3000" and len(file.text.splitlines()) == 3000
    p.standin.wait_for(lambda: _ephemeral(p, "UVIEWER", "in our DM"), timeout=30)
    poll_until(lambda: _done(p, logs), timeout=60, what="the private logs done")
    time.sleep(1.5)  # a deliverer would have sent anything else by now
    assert p.standin.messages(CHANNEL) == []  # no card, no thread message, no file in the channel
