"""Our ``run``, ``ps`` and ``stats`` next to the docker CLI's, on the same engine.

A container created with ``docker run -d`` and one created by ``DockerEngine.run`` from the equivalent
contract args must inspect the same; the ps cells and the stats memory limit / pids must read the same.
"""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import docker
import pytest

from dockbolt.core.args import RunArgs
from tests.integration.conftest import RUN_LABEL
from workers.docker_port import DockerPort
from workers.formatting import displayable_ports, ellipsis, familiar_image, go_quote, short_id, stats_row

pytestmark = pytest.mark.integration


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _cli(docker_cli: str, *argv: str) -> str:
    """Run the docker CLI with an argv list (never a shell) and return its stdout."""
    done = subprocess.run([docker_cli, *argv], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _normalised(section: dict[str, Any]) -> dict[str, Any]:
    # An empty list and null mean the same to the engine; which one is stored depends on the client.
    out = {k: (None if v == [] else v) for k, v in section.items() if k != "Hostname"}
    for key in ("Env", "Binds"):
        if out.get(key):
            # The CLI passes -e and -v values through Go maps, so their order varies from run to run (the
            # engine sorts mounts by target itself, and distinct env keys do not depend on order).
            out[key] = sorted(out[key])
    return out


def _cases(run_id: str, network: str, volume: str) -> list[tuple[list[str], dict[str, Any]]]:
    """(docker run flags, the equivalent contract args), from every option to none at all."""
    port = _free_port()
    full_flags = [
        "-p",
        f"127.0.0.1:{port}:80",
        "-p",
        "81/udp",
        "-p",
        "[::1]::82",
        "-e",
        "K=V",
        "-e",
        "EMPTY=",
        "-l",
        "team=a",
        "-l",
        "tier=",
        "-v",
        f"{volume}:/data:ro",
        "-v",
        "/tmp:/host-tmp",
        "--network",
        network,
        "--restart",
        "on-failure:3",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "-u",
        "1000:1000",
        "-w",
        "/srv/app",
    ]
    full_args = {
        "ports": [
            {"host_ip": "127.0.0.1", "host_port": port, "container_port": "80", "proto": "tcp"},
            {"host_ip": "", "host_port": "", "container_port": "81", "proto": "udp"},
            {"host_ip": "::1", "host_port": "", "container_port": "82", "proto": "tcp"},
        ],
        "env": ["K=V", "EMPTY="],
        "labels": {"team": "a", "tier": ""},
        "volumes": [
            {"source": volume, "target": "/data", "read_only": True},
            {"source": "/tmp", "target": "/host-tmp", "read_only": False},
        ],
        "network": network,
        "restart": {"name": "on-failure", "max_retries": 3},
        "memory": 64 * 1024 * 1024,
        "nano_cpus": 500_000_000,
        "user": "1000:1000",
        "workdir": "/srv/app",
    }
    unless_stopped = (
        ["--restart", "unless-stopped"],
        {"restart": {"name": "unless-stopped", "max_retries": 0}},
    )
    # The flags that need a grant (and the harmless ones beside them), as the parser spells them.
    # (--privileged is in test_docker_port_contract: not every engine can start such a container.)
    guardrail_flags = [
        "--cap-add", "CAP_NET_ADMIN",
        "--cap-add", "CAP_SYS_TIME",
        "--cap-drop", "CAP_CHOWN",
        "--device", "/dev/null:/dev/null:rwm",
        "--device", "/dev/zero:/dev/z:r",
        "--pid", "host",
        "--ipc", "private",
        "--userns", "host",
        "--security-opt", "no-new-privileges:true",
        "--security-opt", "seccomp=unconfined",
        "--pids-limit", "50",
        "--read-only",
        "--mount", "type=bind,source=/tmp,target=/x,readonly",
        "--mount", "type=tmpfs,target=/t",
        "--mount", f"type=volume,source={volume},target=/v",
        "--mount", "type=volume,target=/anon",
    ]
    guardrail_args = {
        "cap_add": ["CAP_NET_ADMIN", "CAP_SYS_TIME"],
        "cap_drop": ["CAP_CHOWN"],
        "devices": ["/dev/null:/dev/null:rwm", "/dev/zero:/dev/z:r"],
        "pid_mode": "host",
        "ipc_mode": "private",
        "userns_mode": "host",
        "security_opt": ["no-new-privileges:true", "seccomp=unconfined"],
        "pids_limit": 50,
        "read_only": True,
        "mounts": [
            {"type": "bind", "source": "/tmp", "target": "/x", "read_only": True},
            {"type": "tmpfs", "source": "", "target": "/t", "read_only": False},
            {"type": "volume", "source": volume, "target": "/v", "read_only": False},
            {"type": "volume", "source": "", "target": "/anon", "read_only": False},
        ],
    }
    return [(full_flags, full_args), ([], {}), unless_stopped, (guardrail_flags, guardrail_args)]


@pytest.mark.parametrize(
    "case", [0, 1, 2, 3], ids=["every-option", "no-options", "unless-stopped", "guardrail-options"]
)
def test_run_inspects_like_docker_run_d(
    case: int,
    engine: DockerPort,
    docker_client: docker.DockerClient,
    docker_cli: str,
    test_image: str,
    run_labels: dict[str, str],
    test_run_id: str,
) -> None:
    network = f"dh-{test_run_id}-cli-net"
    volume = f"dh-{test_run_id}-cli-vol"
    if not docker_client.networks.list(names=[network]):
        docker_client.networks.create(network, labels=run_labels)
        docker_client.volumes.create(volume, labels=run_labels)
    flags, args = _cases(test_run_id, network, volume)[case]
    name = f"dh-{test_run_id}-cli-{case}"
    command = ["sh", "-c", "sleep 300"]

    # Same name and host port, one after the other: the two never exist at the same time.
    _cli(
        docker_cli,
        "run",
        "-d",
        "--name",
        name,
        "--label",
        f"{RUN_LABEL}={test_run_id}",
        *flags,
        test_image,
        *command,
    )
    theirs = docker_client.api.inspect_container(name)
    docker_client.api.remove_container(name, force=True, v=True)  # with its anonymous volumes
    spec = RunArgs.from_dict({"image": test_image, "command": command, "name": name, **args})
    result = engine.run(spec, run_labels)
    ours = docker_client.api.inspect_container(result.id)

    assert result.name == name
    for field in ("Memory", "NanoCpus", "PortBindings", "RestartPolicy", "NetworkMode"):
        assert ours["HostConfig"][field] == theirs["HostConfig"][field], field
    assert sorted(ours["HostConfig"]["Binds"] or []) == sorted(theirs["HostConfig"]["Binds"] or [])
    for field in ("Labels", "User", "WorkingDir", "Cmd", "ExposedPorts", "Volumes"):
        assert ours["Config"].get(field) == theirs["Config"].get(field), field
    assert sorted(ours["Config"]["Env"]) == sorted(theirs["Config"]["Env"])
    # Everything else in both sections too, so a new CLI default cannot slip by unnoticed.
    assert _normalised(ours["HostConfig"]) == _normalised(theirs["HostConfig"])
    assert _normalised(ours["Config"]) == _normalised(theirs["Config"])
    assert ours["State"]["Running"] and theirs["State"]["Running"]


def test_ps_cells_match_docker_ps(
    engine: DockerPort, docker_cli: str, test_image: str, run_labels: dict[str, str], test_run_id: str
) -> None:
    specs = [
        RunArgs.from_dict(
            {
                "image": test_image,
                "command": ["sleep", "300"],
                "name": f"dh-{test_run_id}-ps1",
                "ports": [
                    {"host_ip": "127.0.0.1", "host_port": "", "container_port": "80", "proto": "tcp"},
                    {"host_ip": "", "host_port": "", "container_port": "81", "proto": "udp"},
                ],
            }
        ),
        RunArgs.from_dict(
            {
                "image": test_image,
                "name": f"dh-{test_run_id}-ps2",
                "command": ["sh", "-c", 'echo "quoted" && sleep 300 # longer than twenty'],
            }
        ),
    ]
    for spec in specs:
        engine.run(spec, run_labels)
    selector = f"label={RUN_LABEL}={test_run_id}"
    cli = _cli(
        docker_cli,
        "ps",
        "--filter",
        selector,
        "--format",
        "{{.ID}}|{{.Image}}|{{.Command}}|{{.Ports}}|{{.Names}}",
    )
    ours = [
        "|".join(
            [
                short_id(c.id),
                familiar_image(c.image, c.image_id),
                go_quote(ellipsis(c.command, 20)),
                displayable_ports(c.ports),
                c.name,
            ]
        )
        for c in engine.list_containers(filters={"label": [f"{RUN_LABEL}={test_run_id}"]})
    ]
    assert sorted(ours) == sorted(cli.splitlines())
    assert len(ours) == 2


def test_stats_limit_and_pids_match_docker_stats(
    engine: DockerPort, docker_cli: str, test_image: str, run_labels: dict[str, str], test_run_id: str
) -> None:
    name = f"dh-{test_run_id}-stats"
    engine.run(
        RunArgs.from_dict(
            {"image": test_image, "command": ["sleep", "300"], "name": name, "memory": 64 * 1024**2}
        ),
        run_labels,
    )
    cli = _cli(docker_cli, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", name).strip()
    cli_usage, cli_pids = cli.split("|")
    row = stats_row(engine.stats(name))
    assert cli_usage.split(" / ")[1] == row.mem_usage.split(" / ")[1] == "64MiB"
    assert cli_pids == row.pids == "1"
