"""Order per channel: a user's commands in one channel run in the order they were acked, however many
workers there are; other users and other channels are not held up.

`run X` then `rm -f X`, each sent right after the other's ack, with three workers: before lanes the `rm`
could start before the `run` had created X (5–18 of 50 containers leaked); now every `rm` finds its X.
"""

from __future__ import annotations

import json

import docker
import pytest

from dockbolt.core.jobstore import JobStore
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, Pipeline
from tests.support.recorded import final_card

pytestmark = pytest.mark.integration
PAIRS = 9  # 18 commands: under the per-user rate limit ([policy] rate, 20 a minute)


def _send(p: Pipeline, text: str, user_id: str = "UADMIN", channel_id: str = CHANNEL) -> str:
    job = p.job_of(p.send(text, user_id=user_id, channel_id=channel_id))
    assert job is not None, text
    return job


def test_run_then_rm_back_to_back_with_three_workers_leaks_nothing(
        pipelines: StartPipeline, test_image: str, test_run_id: str,
        docker_client: docker.DockerClient) -> None:
    p = pipelines()
    p.start_worker()
    p.start_worker()
    for i in range(PAIRS):  # a pair at a time: a user may have 5 jobs in flight ([policy] max_queued)
        name = f"dhit-{test_run_id}-order{i}"
        run_job = _send(p, f"run --name {name} -l dhtest.run={test_run_id} {test_image} sleep 600")
        rm_job = _send(p, f"rm -f {name}")
        assert final_card(p.standin, run_job).status == "done", p.worker_log()
        card = final_card(p.standin, rm_job)
        replies = " ".join(m.text for m in p.standin.thread(CHANNEL, card.ts))
        assert card.status == "done" and name in replies, (replies, p.worker_log())  # it found X
    left = docker_client.containers.list(all=True, filters={"label": f"dhtest.run={test_run_id}"})
    assert [c.name for c in left] == []


def test_a_waiting_job_says_what_it_waits_for_and_other_users_are_not_held_up(
        pipelines: StartPipeline, test_image: str, test_run_id: str,
        docker_client: docker.DockerClient) -> None:
    p = pipelines()
    p.start_worker()
    p.start_worker()  # three: the slow stop, the ps waiting behind it, and the other user's ps
    name = f"dhit-{test_run_id}-slowstop"
    docker_client.containers.run(test_image, ["sh", "-c", "trap '' TERM; sleep 600"], detach=True, name=name,
                                 labels={"dhtest.run": test_run_id, "dockbolt.managed": "true"})
    slow = _send(p, f"stop -t 6 {name}")  # ignores SIGTERM: takes the whole 6 s
    behind = _send(p, "ps")
    other = _send(p, "ps", user_id="UOPERATOR")  # another user: a lane of its own
    assert final_card(p.standin, other).status == "done"
    slow_rec = JobStore(p.redis).get(slow)  # `other` did not wait for it (its card may not say "running"
    assert slow_rec is not None and not slow_rec.status.final  # yet: that edit is held back a second)
    def shows_waiting() -> bool:
        card = p.standin.find_card(behind)
        return card is not None and f"waiting for job {slow}" in json.dumps(card.blocks)

    assert p.standin.wait_for(shows_waiting, timeout=60)
    assert final_card(p.standin, slow).status == "done"
    assert final_card(p.standin, behind).status == "done"
    store = JobStore(p.redis)
    slow_rec, behind_rec = store.get(slow), store.get(behind)
    assert slow_rec is not None and behind_rec is not None and slow_rec.ended_at is not None
    assert behind_rec.detail == ""  # finished normally once its turn came
