"""Nothing accepted is lost with the bot: a job is recorded and queued before the ack says "accepted", so
neither a failing Slack while the card is posted nor the bot going away right after a burst drops it."""

from __future__ import annotations

import docker
import docker.errors
import pytest

from dockbolt.console.slack_standin import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, Pipeline, poll_until

pytestmark = pytest.mark.integration


@pytest.fixture
def live(pipelines: StartPipeline) -> Pipeline:
    return pipelines(worker=False)  # the tests start the worker late


def _done(p: Pipeline, job_id: str) -> Message:
    def final() -> Message | None:
        card = p.standin.find_card(job_id)
        return card if card is not None and card.status in ("done", "failed") else None

    return p.standin.wait_for(final, timeout=90)


def test_a_card_slack_refused_is_posted_by_the_worker_and_the_job_runs(live: Pipeline) -> None:
    live.faults.fail_method("chat.postMessage", "internal_error", times=1)  # the bot's card post fails
    job = live.job_of(live.send("ps", user_id="UOPERATOR"))
    assert job is not None
    live.start_worker()
    card = _done(live, job)
    assert card.status == "done"
    assert [m.job_id for m in live.standin.messages(CHANNEL)].count(job) == 1  # one card, not two


def test_a_burst_accepted_while_slack_fails_every_card_still_runs(
        live: Pipeline, test_image: str, test_run_id: str, docker_client: docker.DockerClient) -> None:
    # Before durable intake a job lived in the bot's memory until its card was posted: these 8 were lost.
    names = [f"dhit-{test_run_id}-burst{i}" for i in range(8)]
    live.faults.fail_method("chat.postMessage", "internal_error", times=len(names))
    jobs = [live.job_of(live.send(f"run --name {n} -l dhtest.run={test_run_id} {test_image} sleep 300",
                                      user_id="UADMIN")) for n in names[:5]]
    jobs += [live.job_of(live.send(f"run --name {n} -l dhtest.run={test_run_id} {test_image} sleep 300",
                                       user_id="UOPERATOR")) for n in names[5:]]
    assert all(jobs), jobs
    poll_until(lambda: live.faults.pending("chat.postMessage") == 0, what="the bot's card posts to fail")
    live.start_worker()
    for job in jobs:
        assert job is not None
        assert _done(live, job).status == "done", live.worker_log()
    running = {c.name for c in docker_client.containers.list(filters={"label": f"dhtest.run={test_run_id}"})}
    assert running == set(names)
