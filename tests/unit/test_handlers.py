"""Every worker handler against FakeDocker: what it asks of Docker and what it tells the user."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import DockerError, DockerUnavailable, TargetNotFound
from workers.fake_docker import FakeDocker
from workers.handlers import HANDLERS, logs
from workers.handlers.base import HandlerContext
from workers.reply import Reply

IMAGE = "busybox:latest"


@pytest.fixture
def fake() -> FakeDocker:
    fake = FakeDocker(networks=["backend"])
    fake.add_image(IMAGE)
    return fake


class Call:
    """Runs one verb's handler the way the runner does, recording progress messages."""

    def __init__(self, fake: FakeDocker) -> None:
        self.fake = fake
        self.progress: list[str] = []

    def __call__(self, verb: str, **args: Any) -> Reply:
        job = JobRequest(
            job_id="job42", verb=verb, args=args, user_id="UALICE", channel_id="C1", command_text=""
        )
        ctx = HandlerContext(job=job, docker=self.fake, progress=self.progress.append)
        return HANDLERS[verb](ctx, args)


@pytest.fixture
def call(fake: FakeDocker) -> Call:
    return Call(fake)


def _states(fake: FakeDocker) -> dict[str, str]:
    return {c.name: c.state for c in fake.list_containers(show_all=True)}


def test_ps_shows_running_containers_unless_all(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web", IMAGE, ["httpd", "-f"])
    fake.add_container("old", IMAGE, ["true"], running=False)
    reply = call("ps", all=False, filters={})
    assert reply.ok and reply.text == "1 running container."
    assert reply.body is not None and reply.filename == "ps.txt"
    lines = reply.body.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert len(lines) == 2 and lines[1].endswith("web") and '"httpd -f"' in lines[1]
    everything = call("ps", all=True)
    assert everything.text == "2 containers."
    assert everything.body is not None and "Exited (137)" in everything.body


def test_ps_passes_filters_to_docker(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web", labels={"tier": "front"})
    fake.add_container("db", labels={"tier": "back"})
    reply = call("ps", all=True, filters={"label": ["tier=back"]})
    assert reply.body is not None and reply.body.splitlines()[1].endswith("db")
    assert len(reply.body.splitlines()) == 2
    assert call("ps", all=False, filters={"name": ["nothing"]}).text == "No running containers."


def test_ps_reports_dockers_words_for_a_bad_filter(call: Call) -> None:
    with pytest.raises(DockerError, match=r"^Invalid filter 'status=bogus'$"):
        call("ps", all=True, filters={"status": ["bogus"]})


def test_images_table(call: Call) -> None:
    reply = call("images")
    assert reply.text == "1 image."
    assert reply.body is not None and reply.body.splitlines()[1].split()[:2] == ["busybox", "latest"]


def test_inspect_masks_environment_values(fake: FakeDocker, call: Call) -> None:
    call("run", image=IMAGE, command=["sleep", "60"], name="web", env=["DB_PASSWORD=hunter2"])
    reply = call("inspect", name="web")
    assert reply.filename == "web.json" and reply.text.startswith("Inspect of container `web`")
    assert reply.body is not None and "DB_PASSWORD=***" in reply.body and "hunter2" not in reply.body


def test_inspect_falls_back_to_images_and_reports_missing_objects(call: Call) -> None:
    assert call("inspect", name=IMAGE).text.startswith("Inspect of image")
    with pytest.raises(TargetNotFound, match=r"^No such object: ghost$"):
        call("inspect", name="ghost")


RUN_ARGS: dict[str, Any] = {
    "image": IMAGE,
    "command": ["sh", "-c", "echo hi"],
    "name": "web",
    "ports": [{"host_ip": "", "host_port": "8080", "container_port": "80", "proto": "tcp"}],
    "env": ["K=V"],
    "labels": {"team": "a", "dockbolt.managed": "false", "dockbolt.created-by": "UMALLORY"},
    "volumes": [{"source": "data", "target": "/data", "read_only": True}],
    "network": "backend",
    "restart": {"name": "on-failure", "max_retries": 3},
    "memory": 268435456,
    "nano_cpus": 500000000,
    "user": "1000:1000",
    "workdir": "/app",
}


def test_run_labels_the_container_and_reports_id_and_name(fake: FakeDocker, call: Call) -> None:
    reply = call("run", **RUN_ARGS)
    info = fake.inspect("web")
    assert reply.ok
    assert reply.text == f"Started container `web` (`{info['Id'][:12]}`) from `{IMAGE}`."
    assert info["Config"]["Labels"] == {
        "team": "a",
        "dockbolt.managed": "true",
        "dockbolt.created-by": "UALICE",
        "dockbolt.job": "job42",
    }
    host = info["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (host["Memory"], host["NanoCpus"], host["NetworkMode"]) == (268435456, 500000000, "backend")
    assert host["Binds"] == ["data:/data:ro"]
    assert (info["Config"]["User"], info["Config"]["WorkingDir"]) == ("1000:1000", "/app")
    assert call.progress == [f"starting a container from {IMAGE}…"]


def test_run_with_a_missing_image_fails_in_dockers_words(call: Call) -> None:
    with pytest.raises(DockerError, match=r"^No such image: nope:latest$"):
        call("run", image="nope", command=["true"])


def test_run_name_conflict_is_dockers_message(fake: FakeDocker, call: Call) -> None:
    first = fake.add_container("web")
    with pytest.raises(DockerError, match=f'name "/web" is already in use by container "{first}"'):
        call("run", image=IMAGE, command=["true"], name="web")


@pytest.mark.parametrize(
    ("verb", "extra", "past", "state_after"),
    [
        ("stop", {"timeout": 3}, "Stopped", "exited"),
        ("restart", {"timeout": None}, "Restarted", "running"),
        ("rm", {"force": True}, "Removed", None),
    ],
)
def test_multi_name_verbs_report_per_name(
    fake: FakeDocker, call: Call, verb: str, extra: dict[str, Any], past: str, state_after: str | None
) -> None:
    fake.add_container("web")
    fake.add_container("db")
    reply = call(verb, names=["web", "ghost", "db"], **extra)
    assert not reply.ok
    assert reply.text.splitlines() == [
        f"{past} `web`, `db`.",
        "Failed for 1 container:",
        "• `ghost`: No such container: ghost",
    ]
    states = _states(fake)
    assert states.get("web") == state_after and states.get("db") == state_after
    assert len(call.progress) == 1 and "web, ghost, db" in call.progress[0]


def test_stop_passes_the_timeout(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    assert call("stop", names=["web"], timeout=7).ok
    assert ("stop", "web", 7) in fake.calls


def test_start_starts_stopped_containers(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web", running=False)
    reply = call("start", names=["web"])
    assert reply.ok and reply.text == "Started `web`."
    assert _states(fake) == {"web": "running"}


def test_rm_of_a_running_container_without_force_is_refused_in_dockers_words(
    fake: FakeDocker, call: Call
) -> None:
    cid = fake.add_container("web")
    reply = call("rm", names=["web"], force=False)
    assert not reply.ok
    assert reply.text.splitlines()[-1] == (
        f"• `web`: You cannot remove a running container {cid}. "
        "Stop the container before attempting removal or force remove"
    )
    assert _states(fake) == {"web": "running"}


def test_logs_returns_the_text_as_a_named_body(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    fake.write_log("web", "one\ntwo\nthree\n")
    reply = call("logs", name="web", tail=2, since=None, timestamps=False)
    assert (reply.body, reply.filename, reply.force_file) == ("two\nthree\n", "web.log", False)
    assert reply.text == "Logs of `web`: 2 lines."


def test_logs_relative_since_is_counted_back_from_execution_time(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    now = time.time()
    fake.write_log("web", "old\n", at=now - 600)
    fake.write_log("web", "new\n", at=now)
    before = time.time()
    reply = call("logs", name="web", tail=None, since={"kind": "relative", "seconds": 60}, timestamps=False)
    after = time.time()
    assert reply.body == "new\n"
    since = fake.calls[-1][3]
    assert int(before) - 60 - 1 <= since <= after - 60


def test_logs_absolute_since_and_timestamps(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    fake.write_log("web", "a\n", at=1_700_000_000.5)
    fake.write_log("web", "b\n", at=1_700_000_100.25)
    reply = call(
        "logs", name="web", tail=None, since={"kind": "absolute", "unix": 1_700_000_050.9}, timestamps=True
    )
    assert reply.body == "2023-11-14T22:15:00.250000000Z b\n"


def test_long_logs_are_forced_into_a_file(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    fake.write_log("web", "".join(f"line {i}\n" for i in range(41)))
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert reply.force_file and reply.text == "Logs of `web`: 41 lines."
    assert not call("logs", name="web", tail=40, since=None, timestamps=False).force_file


def test_huge_logs_keep_the_newest_whole_lines(
    fake: FakeDocker, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 20)
    fake.add_container("web")
    fake.write_log("web", "first line\nsecond line\nthird\nlast\n")
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    # The newest 20 bytes start inside "second line"; that partial line is dropped.
    assert reply.body == "third\nlast\n"
    assert "older output cut" in reply.text


def test_logs_of_an_empty_or_missing_container(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert reply.body is None and reply.text == "No log output from `web`."
    with pytest.raises(TargetNotFound, match=r"^No such container: ghost$"):
        call("logs", name="ghost", tail=None, since=None, timestamps=False)


def test_stats_without_names_samples_every_running_container(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    fake.add_container("db")
    fake.add_container("old", running=False)
    reply = call("stats", names=[])
    assert reply.ok and reply.text == "Stats for 2 containers (one sample each)."
    assert reply.body is not None
    names = sorted(line.split()[1] for line in reply.body.splitlines()[1:])
    assert names == ["db", "web"]
    assert call.progress == ["sampling 2 containers…"]


def test_stats_row_is_computed_from_the_sample(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    fake.set_stats(
        "web",
        {
            "cpu_stats": {"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
            "memory_stats": {
                "usage": 10 * 1024**2,
                "limit": 64 * 1024**2,
                "stats": {"total_inactive_file": 0},
            },
            "pids_stats": {"current": 3},
        },
    )
    reply = call("stats", names=["web"])
    assert reply.body is not None
    assert reply.body.splitlines()[1].split()[1:] == [
        "web",
        "40.00%",
        "10MiB",
        "/",
        "64MiB",
        "15.62%",
        "0B",
        "/",
        "0B",
        "0B",
        "/",
        "0B",
        "3",
    ]


def test_stats_reports_each_failed_container(fake: FakeDocker, call: Call) -> None:
    fake.add_container("web")
    reply = call("stats", names=["web", "ghost"])
    assert not reply.ok
    assert reply.text.splitlines()[1:] == ["Failed for 1 container:", "• `ghost`: No such container: ghost"]
    assert reply.body is not None and len(reply.body.splitlines()) == 2


def test_stats_samples_in_parallel(fake: FakeDocker, call: Call) -> None:
    # Each sample waits for the other: only concurrent sampling gets past the barrier.
    barrier = threading.Barrier(2, timeout=30)
    real_stats = fake.stats

    def waiting_stats(name: str) -> dict[str, Any]:
        barrier.wait()
        return real_stats(name)

    fake.stats = waiting_stats  # type: ignore[method-assign]
    fake.add_container("web")
    fake.add_container("db")
    assert call("stats", names=["web", "db"]).ok


def test_stats_with_nothing_running(call: Call) -> None:
    reply = call("stats", names=[])
    assert reply.text == "No running containers." and reply.body is None


@pytest.mark.parametrize(
    ("verb", "args"),
    [
        ("ps", {"all": True}),
        ("stop", {"names": ["web"], "timeout": None}),
        ("stats", {"names": ["web"]}),
        ("logs", {"name": "web", "tail": None, "since": None, "timestamps": False}),
    ],
)
def test_an_unreachable_engine_is_not_a_per_name_failure(
    fake: FakeDocker, call: Call, verb: str, args: dict[str, Any]
) -> None:
    fake.add_container("web")
    fake.unavailable = True
    with pytest.raises(DockerUnavailable):
        call(verb, **args)
