"""`hosts` end to end: a real worker registers its engine; when it stops, the host has no live worker."""

from __future__ import annotations

import html

import docker
import pytest

from dockbolt.cli.procs import stop_process
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import Pipeline, poll_until

pytestmark = pytest.mark.integration


def hosts_text(p: Pipeline) -> str:
    resp = p.send("hosts", user_id="UVIEWER")
    assert resp.json is not None, resp.body
    return html.unescape(str(resp.json["text"]))


def hosts_row(p: Pipeline, host: str) -> list[str] | None:
    lines = hosts_text(p).replace("```", "\n").splitlines()
    return next((line.split() for line in lines if line.startswith(f"{host} ")), None)


def test_a_worker_registers_its_host_and_leaves_it_when_it_stops(
        pipelines: StartPipeline, docker_client: docker.DockerClient) -> None:
    p = pipelines(worker=False)
    p.start_worker({"DOCKBOLT_HOST_NAME": ""})  # named as its engine calls itself
    info = docker_client.info()
    row = poll_until(lambda: hosts_row(p, info["Name"]), timeout=30, what="the host listed")
    assert row[1] == "1" and row[3] == str(info["NCPU"]) and row[5] == info["ServerVersion"]
    stop_process(p.workers[0])
    row = poll_until(lambda: (r := hosts_row(p, info["Name"])) and r[1] == "none" and r, timeout=30,
                     what="the host without a live worker")
    assert f"No live worker: {info['Name']}" in hosts_text(p)
