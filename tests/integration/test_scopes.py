"""The worker's own check, through the whole pipeline: unmanaged and protected containers, scope globs, id
prefixes, and listings that show only what the caller may see.

Signed request → bot → Redis/RQ → a real worker process → the real engine; Slack is the stand-in. The
containers are started here with the docker SDK, some labelled as dockbolt's, some not.
"""

from __future__ import annotations

from collections.abc import Callable

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from dockbolt.console.slack_standin import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline

pytestmark = pytest.mark.integration
JOB_WAIT = 90.0

SCOPES_CONFIG = TEST_CONFIG + """
[rbac.roles.caretaker]
inherits = ["operator"]
grants = ["unmanaged"]

[[rbac.bindings]]
role = "caretaker"
users = ["UCARETAKER"]

[[rbac.bindings]]
role = "operator"
users = ["USTAGING"]
containers = ["staging-*"]
"""


@pytest.fixture
def live(pipelines: StartPipeline) -> Pipeline:
    return pipelines(SCOPES_CONFIG)


Start = Callable[..., Container]


@pytest.fixture
def start(docker_client: docker.DockerClient, test_image: str, test_run_id: str) -> Start:
    """Start a container named NAME-<run id>; keyword labels use "_" for "." (dockbolt_managed="true")."""

    def run(name: str, **labels: str) -> Container:
        container: Container = docker_client.containers.run(
            test_image, ["sleep", "600"], detach=True, name=f"{name}-{test_run_id}",
            labels={"dhtest.run": test_run_id, **{k.replace("_", "."): v for k, v in labels.items()}})
        return container

    return run


def _run(p: Pipeline, text: str, user: str = "UOPERATOR") -> tuple[str, str]:
    """Send a command that is accepted; return (final card status, thread text)."""
    resp = p.send(text, user_id=user)
    job = p.job_of(resp)
    assert job is not None, resp.body

    def done() -> Message | None:
        card = p.standin.find_card(job)
        return card if card is not None and card.status in ("done", "failed", "timed_out", "lost") else None

    card = p.standin.wait_for(done, timeout=JOB_WAIT)
    return str(card.status), "\n".join(r.text for r in p.standin.thread(CHANNEL, card.ts))


def test_an_unmanaged_container_is_refused_without_the_grant(live: Pipeline, start: Start) -> None:
    other = start("stranger")
    status, thread = _run(live, f"stop {other.name}")
    assert status == "failed"
    assert f"`{other.name}` is not managed by dockbolt: that needs the grant `unmanaged`" in thread
    other.reload()
    assert other.status == "running"
    # reading it needs the grant too (read_unmanaged is off by default)
    status, thread = _run(live, f"logs {other.name}")
    assert status == "failed" and "needs the grant `unmanaged`" in thread
    # a role holding `unmanaged` may act on it
    status, thread = _run(live, f"stop -t 0 {other.name}", user="UCARETAKER")
    assert status == "done", thread
    other.reload()
    assert other.status == "exited"


def test_a_protected_container_cannot_be_changed_even_with_every_grant(live: Pipeline, start: Start) -> None:
    guarded = start("dockbolt-redis", dockbolt_managed="true", dockbolt_protected="true")
    for user in ("UOPERATOR", "UCARETAKER", "UADMIN"):
        status, thread = _run(live, f"restart {guarded.name}", user=user)
        assert status == "failed" and "is protected (`dockbolt.protected=true`)" in thread, thread
    status, thread = _run(live, f"inspect {guarded.name}")  # reading is fine
    assert status == "done", thread
    guarded.reload()
    assert guarded.status == "running" and guarded.attrs["RestartCount"] == 0


def test_a_scoped_binding_covers_only_matching_names(live: Pipeline, start: Start) -> None:
    staging = start("staging-web", dockbolt_managed="true")
    prod = start("prod-web", dockbolt_managed="true")
    status, thread = _run(live, f"stop -t 0 {prod.name}", user="USTAGING")
    assert status == "failed" and "outside your containers scope (staging-*)" in thread
    # several targets: allowed only when one binding covers every one of them
    status, thread = _run(live, f"stop -t 0 {staging.name} {prod.name}", user="USTAGING")
    assert status == "failed"
    staging.reload()
    assert staging.status == "running"
    status, thread = _run(live, f"stop -t 0 {staging.name}", user="USTAGING")
    assert status == "done", thread
    # ps lists only what the caller may see, and says how many others it left out
    status, thread = _run(live, "ps -a", user="USTAGING")
    assert staging.name in thread and prod.name not in thread
    assert "not shown" in thread


def test_a_short_id_prefix_is_refused_and_a_long_one_works(live: Pipeline, start: Start) -> None:
    c = start("byid", dockbolt_managed="true")
    status, thread = _run(live, f"stop -t 0 {c.id[:4]}")
    assert status == "failed" and "only an id prefix" in thread
    c.reload()
    assert c.status == "running"
    status, thread = _run(live, f"stop -t 0 {c.id[:12]}")
    assert status == "done", thread
