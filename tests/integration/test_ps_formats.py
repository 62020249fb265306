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
from tests.integration.test_pipeline import finished, thread_text
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration
MANAGED = {"dockbolt.managed": "true"}


def _cli(docker_cli: str, *argv: str) -> str:
    """Run the docker CLI with an argv list (never a shell) and return its stdout."""
    done = subprocess.run([docker_cli, *argv], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.rstrip("\n")


def _trimmed(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def _said(p: Pipeline, command: str) -> tuple[str, str]:
    """Run ``command``; (its summary line, its code block), as the thread shows them, unescaped."""
    job = p.job_of(p.send(command))
    assert job is not None, command
    card, replies = finished(p, job)
    said = html.unescape(thread_text(replies))
    assert card.status == "done", said
    files = [f for f in p.standin.files if f.thread_ts == card.ts]  # a long answer: the whole of it
    m = re.search(r"```(.*?)```", said, re.DOTALL)
    return said.split("\n", 1)[0], files[0].text if files else m.group(1) if m else ""


def test_the_compact_table_a_template_and_format_table_on_real_containers(
        pipelines: StartPipeline, docker_client: docker.DockerClient, docker_cli: str, test_image: str,
        test_run_id: str) -> None:
    live = pipelines()
    labels = {"dhtest.run": test_run_id, **MANAGED}
    long_name = f"dhit-{test_run_id}-" + "a-rather-long-container-name-" * 3
    docker_client.containers.run(test_image, ["sleep", "300"], name=long_name, detach=True, labels=labels,
                                 ports={"80/tcp": None})
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
    running = next(line for line in lines if " Up " in line)
    assert running.startswith(f"dhit-{test_run_id}"[:15]) and "…" in running.split()[0], body  # cut
    assert f" {tcp}->8" in running and "0.0.0.0" not in running, body  # "32768->80/tcp" (maybe cut)
    idle = next(line for line in lines if " Created" in line)
    assert idle.split()[0] == f"dhit-{test_run_id}-idle", body  # names up to 20 columns stay whole

    fields = "{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.Ports}}|{{.State}}|{{.CreatedAt}}"
    _, body = _said(live, f"ps -a --filter {selector} --format '{fields}'")
    assert sorted(body.splitlines()) == sorted(_cli(docker_cli, "ps", "-a", "--filter", selector,
                                                    "--format", fields).splitlines())
    assert len(body.splitlines()) == 2 and long_name in body

    table = "table {{.Names}}\\t{{.Image}}\\t{{.State}}: {{.Ports}}"
    _, body = _said(live, f"ps -a --filter {selector} --format '{table}'")
    # Our tables end no line in blanks (the CLI pads a last cell that is empty, as ": {{.Ports}}" is here).
    assert body == _trimmed(_cli(docker_cli, "ps", "-a", "--filter", selector, "--format", table))
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


def test_images_compact_and_a_template_match_the_cli(pipelines: StartPipeline, docker_cli: str,
                                                     test_image: str) -> None:
    live = pipelines()
    _, body = _said(live, "images")
    lines = body.splitlines()
    assert lines[0].split() == ["IMAGE", "ID", "CREATED", "SIZE"] and all(len(line) <= 80 for line in lines)
    image_id = _cli(docker_cli, "images", "--format", "{{.ID}}", test_image)
    assert any(line.split()[:2] == [test_image, image_id] for line in lines), body
    # Other tests add and remove images meanwhile: compare the test image's line only.
    fields = "{{.Repository}}:{{.Tag}}|{{.ID}}|{{.Size}}|{{.CreatedAt}}|{{.CreatedSince}}"
    _, body = _said(live, f"images --format '{fields}'")
    ours = [line for line in body.splitlines() if line.startswith(test_image + "|")]
    assert ours == _cli(docker_cli, "images", "--format", fields, test_image).splitlines()
