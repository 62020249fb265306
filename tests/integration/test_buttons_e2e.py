"""The daily loop by clicks, against a real worker and engine: run a container, then Restart and Logs from
its card (as another user, in the card's thread), Stop after the confirm dialog, Start again; a failed job
offers Retry. Every click is a signed block_actions payload to the bot's real endpoint."""

from __future__ import annotations

import docker
import pytest

from dockbolt.console.standin.models import Message
from tests.integration.conftest import StartPipeline
from tests.support.clicks import choices, click
from tests.support.pipeline import CHANNEL, Pipeline

pytestmark = pytest.mark.integration
JOB_WAIT = 90.0


def final_card_where(p: Pipeline, match: str, after: set[str], in_thread: str | None = None) -> Message:
    """The first job card not in ``after`` whose text has ``match``, once it is final."""
    def found() -> Message | None:
        for m in p.standin.messages(CHANNEL):
            if (m.job_id and m.ts not in after and match in m.text and m.status in ("done", "failed")
                    and (in_thread is None or m.thread_ts == in_thread)):
                return m
        return None

    try:
        return p.standin.wait_for(found, timeout=JOB_WAIT)
    except TimeoutError as exc:
        raise AssertionError(f"no final card for {match!r}: {exc}\nworker log:\n{p.worker_log()}") from exc


def seen(p: Pipeline) -> set[str]:
    return {m.ts for m in p.standin.messages()}


def test_restart_logs_stop_start_by_clicks(pipelines: StartPipeline, docker_client: docker.DockerClient,
                                           test_image: str, test_run_id: str) -> None:
    p = pipelines()
    name = f"dhbtn-{test_run_id}"
    before = seen(p)
    p.send(f"run -d --name {name} -l dhtest.run={test_run_id} {test_image} "
           "sh -c 'echo hello-from-button; while true; do sleep 1; done'")
    card = final_card_where(p, f"--name {name}", before)
    assert card.status == "done"
    assert list(choices(card.blocks)) == ["Logs", "Restart", "Stop"]
    started = docker_client.containers.get(name).attrs["State"]["StartedAt"]

    before = seen(p)
    click(p, card, "Restart", "UADMIN")  # another user than the one who ran it: runs as the clicker
    restarted = final_card_where(p, f"restart {name}", before, in_thread=card.ts)
    assert restarted.status == "done" and "<@UADMIN>" in restarted.text
    assert docker_client.containers.get(name).attrs["State"]["StartedAt"] != started

    before = seen(p)
    click(p, card, "Logs", "UVIEWER")  # a viewer may read, in the same thread
    logs = final_card_where(p, f"logs {name}", before, in_thread=card.ts)
    assert logs.status == "done"
    assert "hello-from-button" in "\n".join(m.text for m in p.standin.thread(CHANNEL, card.ts))

    before = seen(p)
    click(p, card, "Stop", "UVIEWER")  # a viewer may not: nothing stops
    p.standin.wait_for(lambda: next((r for r in p.standin.response_posts if "stop" in r.text), None),
                       timeout=10)
    assert docker_client.containers.get(name).status == "running"
    click(p, card, "Stop", "UOPERATOR")
    stopped = final_card_where(p, f"stop {name}", before, in_thread=card.ts)
    assert stopped.status == "done" and docker_client.containers.get(name).status == "exited"
    assert list(choices(stopped.blocks)) == ["Logs", "Start"]

    before = seen(p)
    click(p, stopped, "Start", "UOPERATOR")
    final_card_where(p, f"start {name}", before, in_thread=card.ts)
    assert docker_client.containers.get(name).status == "running"


def test_a_failed_job_offers_retry(pipelines: StartPipeline, test_run_id: str) -> None:
    p = pipelines()
    missing = f"dhbtn-missing-{test_run_id}"
    before = seen(p)
    p.send(f"restart {missing}")
    card = final_card_where(p, f"restart {missing}", before)
    assert card.status == "failed" and list(choices(card.blocks)) == ["Retry"]
    before = seen(p)
    click(p, card, "Retry", "UOPERATOR")
    again = final_card_where(p, f"restart {missing}", before, in_thread=card.ts)
    assert again.status == "failed"
    assert "No such container" in "\n".join(m.text for m in p.standin.thread(CHANNEL, card.ts))
