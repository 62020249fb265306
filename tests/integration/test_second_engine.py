"""The second engine fixture is a second host: its own name, its own containers, its own bridge — and the
first engine is left as it was (its docker0 still there, its bridged containers still run)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from tests.integration.conftest import RUN_LABEL
from tests.support.second_engine import SecondEngine
from workers.docker_engine import connect

pytestmark = pytest.mark.integration


@pytest.fixture
def b_cleanup(second_engine: SecondEngine, test_run_id: str) -> Iterator[docker.DockerClient]:
    """Engine B's client; this run's containers on B are removed after the test."""
    yield second_engine.client
    for c in second_engine.client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={test_run_id}"}):
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)


def test_the_second_engine_has_another_name_and_identity(second_engine: SecondEngine,
                                                          docker_client: docker.DockerClient) -> None:
    a, b = docker_client.info(), second_engine.info()
    assert b["Name"] == second_engine.name
    assert b["Name"] != a["Name"]
    assert b["ID"] != a["ID"]
    assert b["DockerRootDir"] != a["DockerRootDir"]
    assert second_engine.docker_host.startswith("unix:///tmp/dbe-")


def test_containers_of_one_engine_are_not_seen_on_the_other(
        second_engine: SecondEngine, b_cleanup: docker.DockerClient, docker_client: docker.DockerClient,
        docker_cleanup: None, test_image: str, run_labels: dict[str, str], test_run_id: str) -> None:
    on_b = b_cleanup.containers.run(test_image, ["sleep", "300"], name=f"dbtest-{test_run_id}-on-b",
                                    labels=run_labels, detach=True)
    on_a = docker_client.containers.run(test_image, ["sleep", "300"], name=f"dbtest-{test_run_id}-on-a",
                                        labels=run_labels, detach=True)
    selector: dict[str, str | list[str] | bool] = {"label": f"{RUN_LABEL}={test_run_id}"}
    assert on_a.id is not None and on_b.id is not None
    assert [c.id for c in b_cleanup.containers.list(all=True, filters=selector)] == [on_b.id]
    assert [c.id for c in docker_client.containers.list(all=True, filters=selector)] == [on_a.id]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(on_b.id)
    with pytest.raises(docker.errors.NotFound):
        b_cleanup.containers.get(on_a.id)
    # dockbolt's own engine adapter, pointed at B by DOCKER_HOST, sees B's container and not A's.
    engine = connect(second_engine.docker_host)
    try:
        seen = {c.id for c in engine.list_containers(show_all=True,
                                                     filters={"label": [f"{RUN_LABEL}={test_run_id}"]})}
    finally:
        engine.close()
    assert seen == {on_b.id}


def test_bridged_containers_run_and_talk_on_the_second_engine(
        second_engine: SecondEngine, b_cleanup: docker.DockerClient, test_image: str,
        run_labels: dict[str, str]) -> None:
    page = "echo engine-b-page > /index.html; httpd -f -p 80 -h /"
    server = b_cleanup.containers.run(test_image, ["sh", "-c", page], labels=run_labels, detach=True)
    server.reload()
    ip = server.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert ip, server.attrs["NetworkSettings"]
    # A second container on B's default bridge fetches the page from the first one.
    client = b_cleanup.containers.run(
        test_image, ["sh", "-c", f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://{ip}/ && exit 0; "
                                 "sleep 0.5; done; exit 1"],
        labels=run_labels, detach=True)
    assert client.wait(timeout=60)["StatusCode"] == 0, client.logs().decode(errors="replace")
    assert client.logs().decode().strip() == "engine-b-page"


def test_the_first_engine_keeps_its_bridge(second_engine: SecondEngine, docker_client: docker.DockerClient,
                                           docker_cleanup: None, test_image: str,
                                           run_labels: dict[str, str]) -> None:
    """Starting engine B did not take the host's docker0: A still runs a bridged container."""
    c = docker_client.containers.run(test_image, ["sleep", "30"], labels=run_labels, detach=True)
    c.reload()
    assert c.status == "running"
    assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
