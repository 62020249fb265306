"""Two real Docker engines, each served by its own worker, one bot and one Redis: `@host` reaches only
that host, `@all` merges both under a HOST column, no `@` asks which host (or takes the channel's
default), and a binding's `hosts` scope holds. Engine B is a second dockerd in its own network namespace
(``tests.support.second_engine``)."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator

import docker
import pytest

from bot.messages import accepted_job_id
from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import MANAGED, finished, job_of, thread_text
from tests.support.pipeline import TEST_CONFIG, Pipeline
from tests.support.second_engine import SecondEngine

pytestmark = pytest.mark.integration

SCOPED = TEST_CONFIG + """
[[rbac.bindings]]
role = "operator"
users = ["UBONLY"]
hosts = ["engine-b*"]
"""


@pytest.fixture
def two(pipelines: StartPipeline, second_engine: SecondEngine, docker_client: docker.DockerClient,
        test_image: str, test_run_id: str) -> Iterator[tuple[Pipeline, str, str]]:
    """A pipeline with a worker on engine A (named as A calls itself) and one on engine B; a sleeping
    managed container `mh-a` on A and `mh-b` on B."""
    p = pipelines(SCOPED, worker=False)
    p.start_worker({"DOCKBOLT_HOST_NAME": ""})
    p.start_worker({"DOCKBOLT_HOST_NAME": "", "DOCKER_HOST": second_engine.docker_host})
    a, b = str(docker_client.info()["Name"]), second_engine.name
    labels = {"dhtest.run": test_run_id, **MANAGED}
    made = [docker_client.containers.run(test_image, ["sleep", "300"], name="mh-a", detach=True,
                                         labels=labels),
            second_engine.client.containers.run(test_image, ["sleep", "300"], name="mh-b", detach=True,
                                                labels=labels)]
    try:
        yield p, a, b
    finally:
        for c in made:
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)


def said(p: Pipeline, text: str, user: str = "UOPERATOR") -> str:
    """The private answer to a command that queues nothing."""
    resp = p.send(text, user_id=user)
    assert accepted_job_id(resp.json) is None, resp.body
    return html.unescape(str((resp.json or {})["text"]))


def run(p: Pipeline, text: str, user: str = "UOPERATOR") -> tuple[str, str]:
    """Send, wait for the end; (card status, everything said in the thread, unescaped)."""
    card, replies = finished(p, job_of(p, text, user))
    return card.status, html.unescape(thread_text(replies))


def test_each_host_sees_only_its_own_containers(two: tuple[Pipeline, str, str]) -> None:
    p, a, b = two
    status, text = run(p, f"@{a} ps")
    assert status == "done" and "mh-a" in text and "mh-b" not in text
    status, text = run(p, f"@{b} ps")
    assert status == "done" and "mh-b" in text and "mh-a" not in text
    card, _ = finished(p, job_of(p, f"@{b} ps"))
    assert f"on `{b}`" in html.unescape(str(card.blocks))  # the card names the host


def test_all_merges_every_host_under_a_host_column(two: tuple[Pipeline, str, str]) -> None:
    p, a, b = two
    status, text = run(p, "@all ps")
    assert status == "done", text
    assert text.startswith("2 hosts:\n") and f"• `{a}`: " in text and f"• `{b}`: " in text
    rows = [line.split() for line in text.replace("```", "\n").splitlines()]
    assert any(r[:1] == ["HOST"] for r in rows)
    assert any(r[:2] == [a, "mh-a"] for r in rows if r)  # the compact table: HOST, NAME, IMAGE, …
    assert any(r[:2] == [b, "mh-b"] for r in rows if r)
    assert not any(r[:2] == [a, "mh-b"] for r in rows)
    assert all(len(line) <= 80 for line in text.split("```")[1].splitlines())  # the merged table


def test_stop_reaches_only_the_host_it_names(two: tuple[Pipeline, str, str], second_engine: SecondEngine,
                                             docker_client: docker.DockerClient) -> None:
    p, a, b = two
    assert said(p, "stop mh-b").startswith(":question: Which host? 2 Docker hosts are live")
    status, text = run(p, f"@{a} stop mh-b")
    assert status == "failed" and "mh-b" in text  # A has no mh-b: Docker's words, nothing stopped
    assert second_engine.client.containers.get("mh-b").status == "running"
    status, _ = run(p, f"@{b} stop -t 1 mh-b")
    assert status == "done"
    assert second_engine.client.containers.get("mh-b").status == "exited"
    assert docker_client.containers.get("mh-a").status == "running"


def test_a_hosts_scope_limits_where_a_binding_holds(two: tuple[Pipeline, str, str]) -> None:
    p, a, b = two
    assert f"host `{a}` is outside your hosts scope (engine-b*)" in said(p, f"@{a} ps", "UBONLY")
    status, text = run(p, f"@{b} ps", "UBONLY")
    assert status == "done" and "mh-b" in text
    status, text = run(p, "@all ps", "UBONLY")  # only the hosts the scope covers
    assert status == "done" and "1 host:\n" in text and "mh-a" not in text and "mh-b" in text


def test_a_channel_default_host_needs_no_at(pipelines: StartPipeline, second_engine: SecondEngine,
                                            docker_client: docker.DockerClient, test_image: str,
                                            test_run_id: str) -> None:
    p = pipelines(TEST_CONFIG + f'\n[[hosts.channels]]\nchannel = "CTEAM"\nhost = "{second_engine.name}"\n',
                  worker=False)
    p.start_worker({"DOCKBOLT_HOST_NAME": ""})
    p.start_worker({"DOCKBOLT_HOST_NAME": "", "DOCKER_HOST": second_engine.docker_host})
    c = second_engine.client.containers.run(test_image, ["sleep", "300"], name="mh-default", detach=True,
                                            labels={"dhtest.run": test_run_id, **MANAGED})
    try:
        status, text = run(p, "ps")
        assert status == "done" and "mh-default" in text
    finally:
        c.remove(force=True)
