"""`dockbolt up` as a user starts it: the local console with a private Redis, a worker and a watcher. Piped
input runs at once, so the first command arrives while the worker is still starting: `up` opens the
console only once the worker's host is registered (the bot refuses commands for a host nobody serves)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import docker
import pytest

from tests.support.pipeline import poll_until

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
    # The ack is quiet (the card says the job was accepted): no "accepted" note while the card is on time.
    assert "accepted as job" not in out and "queued — @ULOCALADMIN ran `/docker ps`" in out, out
    assert "No Docker host is served" not in out and "queued → done" in out, out
    assert f"{name} " in out and "1 host:" in out and "HOST" in out, out


def test_ctrl_c_stops_waiting_for_a_job_not_the_console(tmp_path: Path, docker_client: docker.DockerClient,
                                                       test_image: str, test_run_id: str) -> None:
    name = f"dhcon-{test_run_id}-slow"
    # PID 1 `sleep` ignores SIGTERM: `stop -t 30` takes 30 s, the console waits for it.
    docker_client.containers.run(test_image, ["sleep", "3600"], name=name, detach=True,
                                 labels={"dockbolt.managed": "true", "dhtest.run": test_run_id})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DOCKBOLT_", "REDIS_URL"))}
    proc = subprocess.Popen([sys.executable, "-m", "dockbolt", "up"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path, env=env,
                            text=True, start_new_session=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"stop -t 30 {name}\n")
        proc.stdin.flush()
        poll_until(lambda: any("→ running" in line for line in seen), timeout=60, what="the job running")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in its terminal does: the whole process group
        poll_until(lambda: any("not waiting for job" in line for line in seen), timeout=30,
                   what="the console to stop waiting")
        proc.stdin.write("hosts\nexit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0, "".join(seen)
        reader.join(timeout=10)
        out = "".join(seen)
        assert "1 host:" in out and "Traceback" not in out, out  # the console, its worker and Redis went on
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        reader.join(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        docker_client.containers.get(name).remove(force=True)
