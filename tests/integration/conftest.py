"""Fixtures for tests against the real Docker engine.

Everything a test creates in Docker carries the label ``dockbolt.test-run=<run id>`` and is removed in
teardown. No engine: skip locally with a loud reason, fail under ``CI`` (``tests.conftest.unavailable``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests.exceptions

from tests.conftest import unavailable
from tests.support.pipeline import TEST_CONFIG, Pipeline, start_pipeline
from tests.support.second_engine import SecondEngine
from workers.docker_engine import DEFAULT_DOCKER_HOST, connect
from workers.docker_port import DockerPort

RUN_LABEL = "dockbolt.test-run"
TEST_IMAGE = "dockbolt-test/busybox:latest"
BUSYBOX = Path("/bin/busybox")
DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n'


@pytest.fixture(scope="session")
def test_run_id() -> str:
    """An id unique to this test session; every Docker object created is labelled with it."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def run_labels(test_run_id: str) -> dict[str, str]:
    """The label(s) that mark an object as created by this test session."""
    return {RUN_LABEL: test_run_id}


@pytest.fixture(scope="session")
def docker_host() -> str:
    """The engine under test: ``DOCKER_HOST`` or the local socket (the CLI is pointed at the same one)."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


@pytest.fixture(scope="session")
def docker_client(docker_host: str, test_run_id: str) -> Iterator[docker.DockerClient]:
    """A docker SDK client, independent of the code under test; removes this run's objects at the end."""
    if docker_host.startswith("unix://"):
        # Probe first: the SDK leaks the socket of a failed connect, which warnings-as-errors turns into a
        # confusing error instead of the skip (or CI failure) below.
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(docker_host.removeprefix("unix://"))
            except OSError as exc:
                unavailable(f"no Docker engine at {docker_host}: {exc}")
    try:
        client = docker.DockerClient(base_url=docker_host, version="auto", timeout=60)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        unavailable(f"no Docker engine at {docker_host}: {exc}")
    yield client
    remove_labelled(client, test_run_id, volumes_and_networks=True)
    client.close()


def remove_labelled(client: docker.DockerClient, run_id: str, *, volumes_and_networks: bool = False) -> None:
    """Force-remove every container (and optionally volume and network) labelled with ``run_id``."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    for container in client.containers.list(all=True, filters=selector):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
    if volumes_and_networks:
        for network in client.networks.list(filters=selector):
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()
        for volume in client.volumes.list(filters=selector):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient, test_run_id: str) -> Iterator[None]:
    """Remove this run's containers after the test, so one test's leftovers never meet the next."""
    yield
    remove_labelled(docker_client, test_run_id)


@pytest.fixture(scope="session")
def test_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny busybox image, built locally from /bin/busybox when absent (there is no registry)."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.get(TEST_IMAGE)
        return TEST_IMAGE
    if not BUSYBOX.exists():
        unavailable(
            f"{TEST_IMAGE} is missing and {BUSYBOX} is not there to build it (apt-get install busybox-static)"
        )
    context = tmp_path_factory.mktemp("busybox-image")
    shutil.copy(BUSYBOX, context / "busybox")
    (context / "Dockerfile").write_text(DOCKERFILE)
    docker_client.images.build(path=str(context), tag=TEST_IMAGE, rm=True)
    return TEST_IMAGE


@pytest.fixture(scope="session")
def docker_cli() -> str:
    """Path of the docker CLI, for comparing our behaviour with its."""
    path = shutil.which("docker")
    if path is None:
        unavailable("no docker CLI on PATH")
    return str(path)


@pytest.fixture
def engine(
    docker_client: docker.DockerClient, docker_host: str, docker_cleanup: None
) -> Iterator[DockerPort]:
    """The real DockerPort under test (this run's containers removed after the test)."""
    port = connect(docker_host)
    yield port
    port.close()


StartPipeline = Callable[..., Pipeline]


@pytest.fixture
def pipelines(redis_url: str, tmp_path: Path, docker_client: docker.DockerClient,
              test_run_id: str) -> Iterator[StartPipeline]:
    """Start pipelines (``config_text``, a real worker unless ``worker=False``); at the end close them and
    remove the containers the tests had dockbolt create: labelled ``dhtest.run=<run id>``, or named with
    the run id."""
    started: list[Pipeline] = []

    def start(config_text: str = TEST_CONFIG, *, worker: bool = True) -> Pipeline:
        p = start_pipeline(redis_url, tmp_path, config_text)
        started.append(p)
        if worker:
            p.start_worker()
        return p

    yield start
    for p in started:
        p.close()
    # Also those run from chat without the label whose name carries the run id (as test names do).
    made = {c.id: c for f in ({"label": f"dhtest.run={test_run_id}"}, {"name": test_run_id})
            for c in docker_client.containers.list(all=True, filters=f)}
    for c in made.values():
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)


@pytest.fixture(scope="session")
def second_engine(docker_client: docker.DockerClient, docker_host: str,
                  test_image: str) -> Iterator[SecondEngine]:
    """A second real engine (``tests.support.second_engine``), named ``engine-b``, with the test image,
    for the whole session; stopped and its state removed at the end. Its ``docker info`` Name differs from
    the first engine's. Missing dockerd/unshare/root: skip locally, fail under CI."""
    missing = SecondEngine.missing_prerequisites()
    if missing:
        unavailable("no second Docker engine: " + "; ".join(missing))
    first_name = str(docker_client.info()["Name"])
    with SecondEngine(name="engine-b" if first_name != "engine-b" else "engine-b2") as engine:
        engine.load_images([test_image], source=docker_host)
        yield engine
