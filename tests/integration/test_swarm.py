"""`service …`, `node ls` and an app with ``mode = "service"`` end to end, on a real single-node Swarm.

Signed request → bot → Redis/RQ → a real worker process → the real engine. The module's ``swarm`` fixture
makes the engine a Swarm manager (`docker swarm init --advertise-addr 127.0.0.1`) when it is not one, and
leaves the Swarm afterwards (`docker swarm leave --force`), so the engine ends as it was found; every
service a test makes is named ``dhsw<run id>-…`` and removed even when the test fails. Images are local
(no registry): the manager never resolves a digest, and a task uses the node's image when a pull fails.
"""

from __future__ import annotations

import contextlib
import html
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.conftest import unavailable
from tests.integration.conftest import StartPipeline
from tests.integration.test_deploy import APP_CHANNEL, announced
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline, poll_until
from tests.support.recorded import final_card

pytestmark = pytest.mark.integration

SWARM_CONFIG = TEST_CONFIG + """
[[rbac.bindings]]
role = "operator"
users = ["USTAGING"]
containers = ["staging-*"]
"""


def _state(client: docker.DockerClient) -> str:
    return str(client.info().get("Swarm", {}).get("LocalNodeState") or "inactive")


@pytest.fixture(scope="module")
def prefix(test_run_id: str) -> str:
    """The name every service of this module starts with."""
    return f"dhsw{test_run_id}"


@pytest.fixture(scope="module")
def swarm(docker_client: docker.DockerClient, docker_cli: str, prefix: str) -> Iterator[None]:
    """A Swarm manager for the module; the engine left as it was found (and this run's services gone)."""
    joined_here = _state(docker_client) == "inactive"
    if joined_here:
        subprocess.run([docker_cli, "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True,
                       capture_output=True)
    elif not docker_client.info().get("Swarm", {}).get("ControlAvailable"):
        unavailable("the engine is a Swarm worker, not a manager: services cannot be created on it")
    try:
        yield
    finally:
        for service in docker_client.services.list():
            if service.name.startswith(prefix):
                with contextlib.suppress(docker.errors.NotFound):
                    service.remove()
        if joined_here:
            subprocess.run([docker_cli, "swarm", "leave", "--force"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def tags(docker_client: docker.DockerClient, test_image: str, prefix: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Local tags of the test image (v1, v2) and a "broken" image whose tasks cannot start (no `sleep`)."""
    repository = f"{prefix}/app"
    image = docker_client.images.get(test_image)
    for tag in ("v1", "v2"):
        image.tag(repository, tag)
    context = tmp_path_factory.mktemp("broken-image")
    (context / "note").write_text("no binaries in here\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY note /note\n")
    docker_client.images.build(path=str(context), tag=f"{repository}:broken", rm=True)
    yield {"repository": repository, "v1": f"{repository}:v1", "v2": f"{repository}:v2",
           "broken": f"{repository}:broken"}
    for tag in ("v1", "v2", "broken"):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(f"{repository}:{tag}", force=True)


def run(p: Pipeline, text: str, user: str = "UOPERATOR") -> tuple[str, str]:
    """Send a command that is accepted; (its final card status, its thread's text)."""
    resp = p.send(text, user_id=user)
    job = p.job_of(resp)
    assert job is not None, resp.body
    card = final_card(p.standin, job, timeout=300)
    return str(card.status), html.unescape("\n".join(m.text for m in p.standin.thread(CHANNEL, card.ts)))


def ack(p: Pipeline, text: str, user: str = "UOPERATOR") -> str:
    """The bot's private answer (a refusal: nothing queued)."""
    return html.unescape(str((p.send(text, user_id=user).json or {}).get("text", "")))


def _spec(client: docker.DockerClient, name: str) -> Any:
    """A service's spec as the engine has it."""
    return client.services.get(name).attrs["Spec"]


def test_not_a_swarm_manager_is_said_in_dockers_words(pipelines: StartPipeline,
                                                      docker_client: docker.DockerClient) -> None:
    if _state(docker_client) != "inactive":
        unavailable("the engine is already in a Swarm: cannot show what a non-manager says")
    live = pipelines(SWARM_CONFIG)
    for text in ("service ls", "node ls"):
        status, thread = run(live, text, user="UVIEWER")
        assert status == "failed", text
        assert "This node is not a swarm manager" in thread, thread


def test_create_ls_ps_logs_scale_update_rollback_rm(swarm: None, pipelines: StartPipeline,
                                                    docker_client: docker.DockerClient, tags: dict[str, str],
                                                    prefix: str) -> None:
    live = pipelines(SWARM_CONFIG)
    name = f"{prefix}-web"
    status, thread = run(live, f"service create --name {name} --replicas 2 -e MODE=prod -e TOKEN=hunter2 "
                               f"--limit-memory 64m --update-order start-first {tags['v1']} "
                               "sh -c 'echo hello-from-$MODE; exec sleep 600'")
    assert status == "done", thread
    assert f"Created service `{name}`: 2/2 running (converged)" in thread
    assert "hunter2" not in " ".join(m.text for m in live.standin.messages())  # masked in the card
    spec = _spec(docker_client, name)
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert spec["Labels"]["dockbolt.managed"] == "true"
    assert container["Labels"]["dockbolt.created-by"] == "UOPERATOR"
    assert "TOKEN=hunter2" in container["Env"]
    limits = spec["TaskTemplate"]["Resources"]["Limits"]
    assert limits == {"MemoryBytes": 64 << 20, "Pids": 512}  # -m as typed, run's default pids limit
    assert spec["UpdateConfig"]["Order"] == "start-first"

    status, thread = run(live, "service ls", user="UVIEWER")
    assert status == "done" and name in thread and "2/2" in thread, thread
    status, thread = run(live, f"service ps {name}", user="UVIEWER")
    assert status == "done" and f"{name}.1" in thread and f"{name}.2" in thread, thread

    def logged() -> str | None:  # the replicas' first line may reach the log a moment after they run
        status, thread = run(live, f"service logs {name}", user="UVIEWER")
        assert status == "done", thread
        return thread if "hello-from-prod" in thread else None

    poll_until(logged, timeout=60, what="the service's logs")

    status, thread = run(live, f"service scale {name}=3")
    assert status == "done" and "3/3 running" in thread, thread
    assert _spec(docker_client, name)["Mode"] == {"Replicated": {"Replicas": 3}}

    status, thread = run(live, f"service update --image {tags['v2']} {name}")
    assert status == "done" and "rolled out" in thread, thread
    assert container_image(docker_client, name) == tags["v2"]
    status, thread = run(live, f"service rollback {name}")
    assert status == "done" and "rolled back" in thread, thread
    assert container_image(docker_client, name) == tags["v1"]

    status, thread = run(live, f"service update --image {tags['broken']} --update-failure-action rollback "
                               f"{name}")
    assert status == "failed" and "rolled back by Swarm" in thread, thread
    assert container_image(docker_client, name) == tags["v1"]

    status, thread = run(live, f"service rm {name}")
    assert status == "done" and f"Removed `{name}`" in thread, thread
    assert not [s for s in docker_client.services.list() if s.name == name]


def container_image(client: docker.DockerClient, name: str) -> str:
    """The image a service's spec runs now (without the digest the engine may add)."""
    spec = _spec(client, name)
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"]).split("@")[0]


def test_guardrails_scopes_protected_and_unmanaged(swarm: None, pipelines: StartPipeline,
                                                   docker_client: docker.DockerClient, tags: dict[str, str],
                                                   prefix: str) -> None:
    live = pipelines(SWARM_CONFIG + '\n[policy]\nallowed_images = ["dhsw*"]\n')
    # What `run` refuses, `service create` refuses, for the same reason.
    assert "needs the grant `public-ports`" in ack(live, f"run -p 0.0.0.0:8080:80 {tags['v1']}")
    assert "needs the grant `public-ports`" in ack(live, f"service create -p 8080:80 {tags['v1']}")
    assert "not in [policy] allowed_images" in ack(live, "run busybox:1")
    assert "not in [policy] allowed_images" in ack(live, "service create busybox:1")
    assert "not in [policy] allowed_images" in ack(live, f"service update --image busybox:1 {prefix}-x")
    # Roles: viewers read, operators change; scopes apply to service names as to container names.
    denied = ack(live, f"service scale {prefix}-x=2", "UVIEWER")
    assert "`service-scale` needs a role that allows it" in denied
    assert "outside your containers scope" in ack(live, f"service create --name {prefix}-x {tags['v1']}",
                                                  "USTAGING")
    assert "outside your containers scope" in ack(live, f"service rm {prefix}-x", "USTAGING")

    keep = {"dockbolt.managed": "true", "dockbolt.protected": "true"}
    docker_client.services.create(tags["v1"], ["sleep", "600"], name=f"{prefix}-keep", labels=keep)
    docker_client.services.create(tags["v1"], ["sleep", "600"], name=f"{prefix}-other")
    for text in (f"service scale {prefix}-keep=2", f"service update --image {tags['v2']} {prefix}-keep",
                 f"service rm {prefix}-keep"):
        status, thread = run(live, text, user="UADMIN")
        assert status == "failed" and "is protected (`dockbolt.protected=true`)" in thread, thread
    status, thread = run(live, f"service scale {prefix}-other=2")
    assert status == "failed" and "is not managed by dockbolt or is outside your scope" in thread, thread
    status, thread = run(live, "service ls")
    assert f"{prefix}-keep" in thread and f"{prefix}-other" not in thread and "other not shown" in thread
    assert docker_client.services.get(f"{prefix}-keep").attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 1


def test_node_ls(swarm: None, pipelines: StartPipeline) -> None:
    status, thread = run(pipelines(SWARM_CONFIG), "node ls", user="UVIEWER")
    assert status == "done" and "1 node." in thread and "Leader" in thread, thread


def test_an_app_in_service_mode_deploys_as_a_rolling_update(swarm: None, pipelines: StartPipeline,
                                                            docker_client: docker.DockerClient,
                                                            tags: dict[str, str], prefix: str,
                                                            tmp_path: Path) -> None:
    name = f"{prefix}-svcapp"
    live = pipelines(TEST_CONFIG + f"""
[build]
context_roots = ["{tmp_path}"]

[apps.svcapp]
context = "{tmp_path}"
image = "{tags['repository']}"
container = "{name}"
channel = "{APP_CHANNEL}"
mode = "service"
run = {{ command = "sleep 600" }}
health = {{ cmd = "test -e /bin/sh", timeout = "10s" }}
""")
    for tag, word in (("v1", "succeeded"), ("v2", "succeeded"), ("broken", "rolled back")):
        job = live.job_of(live.send(f"deploy svcapp --image {tags[tag]}", user_id="UADMIN"))
        assert job is not None
        card = final_card(live.standin, job, timeout=300)
        assert card.status == ("done" if word == "succeeded" else "failed"), tag
        text = announced(live, job, word)
        assert tags[tag] in text, text
        assert container_image(docker_client, name) == tags["v2" if tag == "broken" else tag]
    spec = _spec(docker_client, name)
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"
    assert spec["Labels"]["dockbolt.app"] == "svcapp"

