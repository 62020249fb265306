"""`pull` and `run --pull` end to end against a real registry on loopback (``tests.support.registry``).

The busybox test image is pushed to ``127.0.0.1:PORT/x:1`` and its tag removed from the engine; then it
comes back through the real pipeline: `pull`, and `run` of the missing image (docker's default
``--pull missing``), while ``--pull never`` fails with Docker's words. A second registry wants htpasswd
credentials: they come from the worker's docker config (``DOCKER_CONFIG``), never from chat; a wrong
password ends with the registry's "unauthorized" in the thread and the password nowhere in Slack or logs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from dockbolt.console.slack_standin import Message
from tests.conftest import unavailable
from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import finished, job_of, thread_text
from tests.support.pipeline import Pipeline
from tests.support.recorded import everything_received
from tests.support.registry import Registry
from workers.docker_port import DockerPort

pytestmark = pytest.mark.integration
USER = "alice"
PASSWORD = f"pw-{secrets.token_hex(8)}"  # unique to the session: "found nowhere" means something


@dataclass(frozen=True)
class Pushed:
    """An image in a test registry: its reference and the digest the registry gave it."""

    ref: str
    digest: str


def push(client: docker.DockerClient, image: str, ref: str, auth: dict[str, str] | None = None) -> Pushed:
    """Push ``image`` as ``ref``, then remove the tag from the engine again (the image itself stays)."""
    repo, _, tag = ref.rpartition(":")
    client.images.get(image).tag(repo, tag)
    digest = ""
    try:
        for chunk in client.api.push(repo, tag, stream=True, decode=True, auth_config=auth):
            assert "error" not in chunk, chunk
            digest = str((chunk.get("aux") or {}).get("Digest") or digest)
    finally:
        client.images.remove(ref)
    assert digest.startswith("sha256:")
    return Pushed(ref, digest)


def registry_or_skip() -> None:
    if Registry.binary() is None:
        unavailable("no docker-registry on PATH (apt-get install docker-registry)")


@pytest.fixture(scope="session")
def open_registry(docker_client: docker.DockerClient, test_image: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    """A registry without authentication holding the test image as ``x:1``."""
    registry_or_skip()
    with Registry(tmp_path_factory.mktemp("registry")) as registry:
        yield push(docker_client, test_image, f"{registry.address}/x:1")


@pytest.fixture(scope="session")
def auth_registry(docker_client: docker.DockerClient, test_image: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    """A registry with htpasswd authentication (USER, PASSWORD) holding the test image as ``x:1``."""
    registry_or_skip()
    with Registry(tmp_path_factory.mktemp("registry-auth"), users={USER: PASSWORD}) as registry:
        yield push(docker_client, test_image, f"{registry.address}/x:1",
                   auth={"username": USER, "password": PASSWORD})


@pytest.fixture
def missing(docker_client: docker.DockerClient) -> Iterator[Callable[[Pushed], str]]:
    """Make a pushed image absent from the engine for the test; its tag is removed again afterwards."""
    refs: list[str] = []

    def absent(pushed: Pushed) -> str:
        refs.append(pushed.ref)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(pushed.ref)
        return pushed.ref

    yield absent
    for ref in refs:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(ref)  # only the tag: the image is the test image


def docker_config(directory: Path, registry: str, password: str) -> dict[str, str]:
    """A docker config with ``auths`` for ``registry``; the worker's environment pointing at it."""
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory)}


def run(p: Pipeline, text: str) -> tuple[Message, str]:
    card, replies = finished(p, job_of(p, text), timeout=120)
    return card, thread_text(replies)


def test_the_engine_streams_a_pull_and_reports_the_registrys_digest(
        engine: DockerPort, open_registry: Pushed, missing: Callable[[Pushed], str],
        docker_client: docker.DockerClient) -> None:
    ref = missing(open_registry)
    said: list[dict[str, Any]] = []
    pulled = engine.pull(ref, lambda message: said.append(dict(message)))
    assert {"status": "Pulling from x", "id": "1"} in said
    assert pulled.digest == open_registry.digest
    image = docker_client.images.get(ref)
    assert (pulled.id, pulled.size) == (image.id, image.attrs["Size"])
    assert engine.has_image(ref)


def test_pull_through_the_pipeline(pipelines: StartPipeline, open_registry: Pushed,
                                   missing: Callable[[Pushed], str],
                                   docker_client: docker.DockerClient) -> None:
    ref = missing(open_registry)
    card, thread = run(pipelines(), f"pull {ref}")
    assert card.status == "done", thread
    assert f"Pulled `{ref}` (`{open_registry.digest}`, " in thread
    repository = ref.rpartition(":")[0]
    assert f"{repository}@{open_registry.digest}" in docker_client.images.get(ref).attrs["RepoDigests"]


def test_run_pulls_a_missing_image_first(pipelines: StartPipeline, open_registry: Pushed,
                                         missing: Callable[[Pushed], str], docker_client: docker.DockerClient,
                                         test_run_id: str) -> None:
    ref, name = missing(open_registry), f"dhit-{test_run_id}-pulled"
    card, thread = run(pipelines(), f"run -d --name {name} -l dhtest.run={test_run_id} {ref} sleep 60")
    assert card.status == "done", thread
    assert f"Pulled `{ref}` (`{open_registry.digest}`, " in thread and f"Started container `{name}`" in thread
    container = docker_client.containers.get(name)
    assert container.status == "running" and container.attrs["Config"]["Image"] == ref


def test_run_pull_never_leaves_a_missing_image_missing(pipelines: StartPipeline, open_registry: Pushed,
                                                       missing: Callable[[Pushed], str],
                                                       docker_client: docker.DockerClient,
                                                       test_run_id: str) -> None:
    ref, name = missing(open_registry), f"dhit-{test_run_id}-never"
    card, thread = run(pipelines(), f"run --pull never --name {name} -l dhtest.run={test_run_id} {ref} true")
    assert card.status == "failed", thread
    assert f"No such image: {ref}" in thread and "Pulled" not in thread
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ref)
    assert docker_client.containers.list(all=True, filters={"name": name}) == []


def test_credentials_come_from_the_workers_docker_config(
        pipelines: StartPipeline, auth_registry: Pushed, missing: Callable[[Pushed], str],
        docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> None:
    ref = missing(auth_registry)
    p = pipelines(worker=False)
    p.start_worker(docker_config(tmp_path_factory.mktemp("docker-config"), ref.partition("/")[0], PASSWORD))
    card, thread = run(p, f"pull {ref}")
    assert card.status == "done", thread
    assert f"Pulled `{ref}` (`{auth_registry.digest}`, " in thread
    docker_client.images.get(ref)


def test_without_credentials_the_registry_refuses(pipelines: StartPipeline, auth_registry: Pushed,
                                                  missing: Callable[[Pushed], str],
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    ref = missing(auth_registry)
    p = pipelines(worker=False)
    p.start_worker({"DOCKER_CONFIG": str(tmp_path_factory.mktemp("no-docker-config"))})  # an empty one
    card, thread = run(p, f"pull {ref}")
    assert card.status == "failed" and "no basic auth credentials" in thread, thread


def test_a_wrong_password_is_dockers_unauthorized_and_shown_nowhere(
        pipelines: StartPipeline, auth_registry: Pushed, missing: Callable[[Pushed], str],
        docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the bot runs in this process: everything it logs
    ref, wrong = missing(auth_registry), f"wrong-{secrets.token_hex(8)}"
    p = pipelines(worker=False)
    env = docker_config(tmp_path_factory.mktemp("docker-config"), ref.partition("/")[0], wrong)
    p.start_worker(env)
    card, thread = run(p, f"pull {ref}")
    assert card.status == "failed", thread
    assert "unauthorized: authentication required" in thread
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ref)
    encoded = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())["auths"]
    [entry] = encoded.values()
    assert p.logdir is not None
    logs = "\n".join(f.read_text(errors="replace") for f in p.logdir.glob("*.log"))
    for seen in (everything_received(p.standin), logs, caplog.text):
        for secret in (wrong, PASSWORD, entry["auth"]):
            assert secret not in seen
