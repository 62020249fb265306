"""The host marker-file test: no chat command without a grant writes a file on the host outside the
allowed paths — through the whole pipeline, with a real worker and the real engine.

Every command below would create a file in ``host/`` if it ran as typed. The control proves the check can
fail: a role holding ``host-mounts`` writes a marker into the allowed directory the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockbolt.console.slack_standin import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import TEST_CONFIG, Pipeline, poll_until

pytestmark = pytest.mark.integration
FINAL = ("done", "failed", "timed_out", "lost")

CONFIG = TEST_CONFIG + """
[rbac.roles.mounter]
inherits = ["operator"]
grants = ["host-mounts"]

[[rbac.bindings]]
role = "mounter"
users = ["UMOUNTER"]

[policy]
allowed_host_paths = ["{allowed}"]
"""


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    host, allowed = tmp_path / "host", tmp_path / "allowed"
    host.mkdir()
    allowed.mkdir()
    os.chmod(host, 0o777)  # a container user other than root could write here too
    os.chmod(allowed, 0o777)
    (allowed / "way-out").symlink_to(host)
    return host, allowed


@pytest.fixture
def live(pipelines: StartPipeline, dirs: tuple[Path, Path]) -> Pipeline:
    return pipelines(CONFIG.replace("{allowed}", str(dirs[1])))


def _outcome(p: Pipeline, text: str, user: str) -> str:
    """'denied' at the ack, else the job's final card status."""
    resp = p.send(text, user_id=user)
    job = p.job_of(resp)
    if job is None:
        return "denied"

    def final() -> Message | None:
        card = p.standin.find_card(job)
        return card if card is not None and card.status in FINAL else None

    return str(p.standin.wait_for(final, timeout=90).status)


def test_no_command_without_a_grant_writes_on_the_host(live: Pipeline, dirs: tuple[Path, Path],
                                                        test_image: str, test_run_id: str) -> None:
    host, allowed = dirs
    run = f"run -l dhtest.run={test_run_id}"
    attempts = [
        ("UOPERATOR", f"{run} -v {host}:/h {test_image} touch /h/m1"),
        ("UOPERATOR", f"{run} --mount type=bind,source={host},target=/h {test_image} touch /h/m2"),
        ("UOPERATOR", f"{run} -v //{str(host).lstrip('/')}/../host:/h {test_image} touch /h/m3"),
        ("UOPERATOR", f"{run} -v /:/hostroot {test_image} touch /hostroot{host}/m4"),
        ("UOPERATOR", f"{run} -u 0 --privileged {test_image} touch {host}/m5"),
        ("UOPERATOR", f"{run} -v /var/run/docker.sock:/var/run/docker.sock {test_image} true"),
        ("UVIEWER", f"{run} -v {allowed}:/a {test_image} touch /a/m6"),
        # holding host-mounts is not enough outside the allowed paths, whatever the spelling
        ("UMOUNTER", f"{run} -v {host}:/h {test_image} touch /h/m7"),
        ("UMOUNTER", f"{run} -v {allowed}/../host:/h {test_image} touch /h/m8"),
        ("UMOUNTER", f"{run} -v /:/hostroot {test_image} touch /hostroot{host}/m9"),
        # a symlink inside the allowed directory that leads out: the worker resolves it and refuses
        ("UMOUNTER", f"{run} -v {allowed}/way-out:/h {test_image} touch /h/m10"),
        ("UMOUNTER", f"{run} --mount type=bind,src={allowed}/way-out,dst=/h {test_image} touch /h/m11"),
    ]
    outcomes = {text: _outcome(live, text, user) for user, text in attempts}
    assert all(o in ("denied", "failed") for o in outcomes.values()), outcomes
    # the two symlink attempts passed the bot (it cannot see the host) and were refused by the worker
    assert [o for o in outcomes.values() if o == "failed"] == ["failed", "failed"], outcomes
    # the control: the same kind of command, allowed, does write where it may
    control = f"{run} --name dhit-{test_run_id}-control -v {allowed}:/a {test_image} touch /a/control"
    assert _outcome(live, control, "UMOUNTER") == "done"
    poll_until(lambda: (allowed / "control").exists(), what="the control's marker")
    assert sorted(p.name for p in host.iterdir()) == []
