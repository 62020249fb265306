"""`ps` and its `--format`s through the whole pipeline (signed command → bot → Redis → worker → the real
engine → the thread), next to what the docker CLI prints for the same containers.

The compact default fits 80 columns; `--format table` is the CLI's own table; a template fills docker's
fields as the CLI does. Containers are labelled ``dhtest.run=<run id>`` and removed in teardown.
"""

from __future__ import annotations

import html
import re
import subprocess

import docker
import pytest

from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import finished, job_of, thread_text
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration
MANAGED = {"dockbolt.managed": "true"}


def _cli(docker_cli: str, *argv: str) -> str:
    """Run the docker CLI with an argv list (never a shell) and return its stdout."""
    done = subprocess.run([docker_cli, *argv], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.rstrip("\n")


def _said(p: Pipeline, command: str) -> tuple[str, str]:
    """Run ``command``; (its summary line, its code block), as the thread shows them, unescaped."""
    card, replies = finished(p, job_of(p, command))
    said = html.unescape(thread_text(replies))
    assert card.status == "done", said
    m = re.search(r"```(.*?)```", said, re.DOTALL)
    return said.split("\n", 1)[0], m.group(1) if m else ""


def test_the_compact_table_a_template_and_format_table_on_real_containers(
        pipelines: StartPipeline, docker_client: docker.DockerClient, docker_cli: str, test_image: str,
        test_run_id: str) -> None:
    live = pipelines()
    labels = {"dhtest.run": test_run_id, **MANAGED}
    long_name = f"dhit-{test_run_id}-" + "a-rather-long-container-name-" * 3
    docker_client.containers.run(test_image, ["sleep", "300"], name=long_name, detach=True, labels=labels,
                                 ports={"80/tcp": None, "81/udp": None})
    docker_client.containers.create(test_image, ["sh", "-c", "echo a long command; sleep 300"],
                                    name=f"dhit-{test_run_id}-idle", labels=labels)
    selector = f"label=dhtest.run={test_run_id}"

    summary, body = _said(live, f"ps -a --filter {selector}")
    assert summary == "2 containers."
    lines = body.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "STATUS", "PORTS"] and len(lines) == 3
    assert all(len(line) <= 80 for line in lines), body
    host_ports = _cli(docker_cli, "port", long_name).splitlines()  # "80/tcp -> 0.0.0.0:32768", …
    tcp = next(line.rsplit(":", 1)[1] for line in host_ports if line.startswith("80/tcp -> 0.0.0.0:"))
    running = next(line for line in lines if line.startswith(f"dhit-{test_run_id}-a-rather"))
    assert "…" in running and "Up " in running and f"{tcp}->80/tcp" in running and "0.0.0.0" not in running
    assert any(line.split()[:3] == [f"dhit-{test_run_id}-idle", test_image, "Created"] for line in lines)

    fields = "{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.Ports}}|{{.State}}|{{.CreatedAt}}"
    _, body = _said(live, f"ps -a --filter {selector} --format '{fields}'")
    assert sorted(body.splitlines()) == sorted(_cli(docker_cli, "ps", "-a", "--filter", selector,
                                                    "--format", fields).splitlines())
    assert len(body.splitlines()) == 2 and long_name in body

    table = "table {{.Names}}\\t{{.Image}}\\t{{.State}}: {{.Ports}}"
    _, body = _said(live, f"ps -a --filter {selector} --format '{table}'")
    assert body == _cli(docker_cli, "ps", "-a", "--filter", selector, "--format", table)
    assert body.startswith("NAMES ")

    # The CLI's own table, CREATED and STATUS included: they tick by the second, so ours must equal the
    # CLI's right before or right after it (a few tries, for when a second turns in between both times).
    for _ in range(5):
        before = _cli(docker_cli, "ps", "-a", "--filter", selector)
        _, body = _said(live, f"ps -a --filter {selector} --format table")
        after = _cli(docker_cli, "ps", "-a", "--filter", selector)
        if body in (before, after):
            break
    assert body in (before, after), f"ours:\n{body}\nthe CLI's:\n{after}"
    assert body.splitlines()[0].split()[:3] == ["CONTAINER", "ID", "IMAGE"] and long_name in body
