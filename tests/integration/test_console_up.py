"""`dockbolt up` as a user starts it: the local console with a private Redis, a worker and a watcher. Piped
input runs at once, so the first command arrives while the worker is still starting: `up` opens the
console only once the worker's host is registered (the bot refuses commands for a host nobody serves)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

pytestmark = pytest.mark.integration


def test_the_first_piped_command_runs_on_the_worker_up_started(tmp_path: Path,
                                                              docker_client: docker.DockerClient) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DOCKBOLT_", "REDIS_URL"))}  # the embedded default, nothing set
    name = str(docker_client.info()["Name"])
    done = subprocess.run([sys.executable, "-m", "dockbolt", "up"], input="ps\nhosts\n@all images\n",
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=180, check=False)
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted as job" in out and f"on `{name}`" in out, out
    assert "No Docker host is served" not in out and "queued → running → done" in out, out
    assert f"{name} " in out and "1 host:" in out and "HOST" in out, out
