"""`run`'s guardrails through the whole pipeline: a dangerous flag is denied at the ack for a role without
its grant (nothing queued, nothing posted, nothing created) and runs for a role that holds it.

Signed request → bot → Redis/RQ → a real worker process → the real engine; Slack is the stand-in.
"""

from __future__ import annotations

import time
from pathlib import Path

import docker
import docker.errors
import pytest

from bot.messages import accepted_job_id
from dockbolt.console.slack_standin import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline

pytestmark = pytest.mark.integration
JOB_WAIT = 90.0

GRANTS_CONFIG = TEST_CONFIG + """
[rbac.roles.netops]
inherits = ["operator"]
grants = ["host-network", "host-mounts"]

[[rbac.bindings]]
role = "netops"
users = ["UNETOPS"]

[policy]
allowed_host_paths = ["{allowed}"]
"""


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    path = tmp_path / "allowed"
    path.mkdir()
    (path / "note").write_text("from the host\n")
    return path


@pytest.fixture
def live(pipelines: StartPipeline, allowed: Path) -> Pipeline:
    """The pipeline (netops holds host-network and host-mounts) with one real worker process."""
    return pipelines(GRANTS_CONFIG.replace("{allowed}", str(allowed)))


def _finished(p: Pipeline, job_id: str) -> tuple[Message, str]:
    def done() -> Message | None:
        card = p.standin.find_card(job_id)
        return card if card is not None and card.status in ("done", "failed", "timed_out", "lost") else None

    try:
        card = p.standin.wait_for(done, timeout=JOB_WAIT)
    except TimeoutError as exc:
        raise AssertionError(f"job {job_id} did not finish: {exc}\nworker log:\n{p.worker_log()}") from exc
    return card, "\n".join(r.text for r in p.standin.thread(CHANNEL, card.ts))


def _denied(p: Pipeline, text: str, user: str) -> str:
    resp = p.send(text, user_id=user)
    assert resp.json is not None and accepted_job_id(resp.json) is None, resp.body
    return str(resp.json["text"])


def _exists(client: docker.DockerClient, name: str) -> bool:
    return bool(client.containers.list(all=True, filters={"name": f"^/{name}$"}))


def test_host_network_is_denied_without_the_grant_and_runs_with_it(
    live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str
) -> None:
    name = f"dhit-{test_run_id}-hostnet"
    text = f"run --name {name} -l dhtest.run={test_run_id} --network host {test_image} sleep 300"
    said = _denied(live, text, "UOPERATOR")
    assert said == "not allowed: `--network host` needs the grant `host-network`"
    time.sleep(0.5)  # a settle, not a timing assertion: nothing may appear
    assert live.standin.messages() == [] and not _exists(docker_client, name)

    resp = live.send(text, user_id="UNETOPS")
    job = live.job_of(resp)
    assert job is not None, resp.body
    card, thread = _finished(live, job)
    assert card.status == "done", thread
    host = docker_client.api.inspect_container(name)["HostConfig"]
    assert host["NetworkMode"] == "host"


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ("-v /:/host", "`-v /:/host`: / is not under [policy] allowed_host_paths"),
        ("-v /var/run/docker.sock:/var/run/docker.sock", "is not under [policy] allowed_host_paths"),
        ("--privileged", "`--privileged` needs the grant `privileged`"),
        ("-u root", "`-u root` needs the grant `root-user`"),
        ("-p 0.0.0.0:8080:80", "`-p 0.0.0.0:8080:80` needs the grant `public-ports`"),
    ],
)
def test_what_no_held_grant_allows_is_denied_even_with_other_grants(
    live: Pipeline, docker_client: docker.DockerClient, test_image: str, test_run_id: str, flags: str,
    words: str
) -> None:
    name = f"dhit-{test_run_id}-denied"
    text = f"run --name {name} -l dhtest.run={test_run_id} {flags} {test_image} true"
    said = _denied(live, text, "UNETOPS")
    assert said.startswith("not allowed: ") and words in said
    assert not _exists(docker_client, name)


def test_an_allowed_host_path_mounts_with_the_grant(
    live: Pipeline, docker_client: docker.DockerClient, allowed: Path, test_image: str, test_run_id: str
) -> None:
    name = f"dhit-{test_run_id}-mount"
    text = f"run --name {name} -l dhtest.run={test_run_id} -v {allowed}:/data:ro {test_image} sleep 300"
    denial = f"not allowed: `-v {allowed}:/data:ro` needs the grant `host-mounts`"
    assert _denied(live, text, "UOPERATOR") == denial
    job = live.job_of(live.send(text, user_id="UNETOPS"))
    assert job is not None
    card, thread = _finished(live, job)
    assert card.status == "done", thread
    assert docker_client.containers.get(name).exec_run(["cat", "/data/note"]).output == b"from the host\n"
