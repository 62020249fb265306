"""Every worker handler against a recording Docker stub: what it asks of Docker and what it tells the user.

The stub answers only what a test cans; what the engine itself does (states, filters, tails, its error
wording) is checked against the real engine in tests/integration/test_docker_port_contract.py.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import ContractError, DockerError, DockerUnavailable, TargetNotFound
from tests.support.recording_docker import RecordingDocker, canned_id, container, sample
from workers.docker_port import ImageSummary, LogStreamCut, RunResult
from workers.handlers import HANDLERS, logs
from workers.handlers.base import HandlerContext
from workers.reply import Reply

IMAGE = "busybox:latest"


def not_found() -> TargetNotFound:
    """What the port raises for a missing container (a fresh exception per raise)."""
    return TargetNotFound("No such container: ghost")


@pytest.fixture
def docker() -> RecordingDocker:
    return RecordingDocker()


class Call:
    """Runs one verb's handler the way the runner does, recording progress messages.

    The only place that knows the handler signature: tests pass a verb's job args as keywords.
    """

    def __init__(self, docker: RecordingDocker) -> None:
        self.docker = docker
        self.progress: list[str] = []

    def __call__(self, verb: str, **args: Any) -> Reply:
        job = JobRequest(
            job_id="job42", verb=verb, args=args, user_id="UALICE", channel_id="C1", command_text=""
        )
        ctx = HandlerContext(job=job, docker=self.docker, progress=self.progress.append)
        handler = HANDLERS[verb]
        # As the runner does: the job's JSON args are decoded into the handler's args type first.
        return handler.run(ctx, handler.args.from_dict(args))


@pytest.fixture
def call(docker: RecordingDocker) -> Call:
    return Call(docker)


# --- ps, images, inspect -----------------------------------------------------------------------------


def test_ps_asks_for_running_containers_and_tabulates_what_docker_returns(
    docker: RecordingDocker, call: Call
) -> None:
    docker.containers = [container("web", command="httpd -f")]
    reply = call("ps", all=False, filters={})
    assert docker.calls == [("list_containers", False, None)]
    assert reply.ok and reply.text == "1 running container." and reply.filename == "ps.txt"
    assert reply.body == "NAME  IMAGE    STATUS        PORTS\nweb   busybox  Up 2 minutes"  # compact
    assert reply.table is not None and reply.table.rows == (("web", "busybox", "Up 2 minutes", ""),)


def test_ps_format_table_is_the_clis_layout(docker: RecordingDocker, call: Call) -> None:
    docker.containers = [container("web", command="httpd -f")]
    reply = call("ps", all=False, filters={}, format="table")
    assert reply.body is not None
    header, row = reply.body.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert row.startswith(canned_id("web")[:12]) and '"httpd -f"' in row and "Up 2 minutes" in row
    assert row.endswith("web")


def test_ps_format_template_fills_the_fields(docker: RecordingDocker, call: Call) -> None:
    docker.containers = [container("web", labels={"tier": "front", "team": "a"}),
                         container("db", state="exited", status="Exited (0) 1 hour ago")]
    reply = call("ps", all=True, filters={}, format="{{.Names}}|{{.State}}|{{.Labels}}|{{.ID}}")
    assert reply.text == "2 containers."
    assert reply.body == (f"web|running|team=a,tier=front|{canned_id('web')[:12]}\n"
                          f"db|exited||{canned_id('db')[:12]}")
    reply = call("ps", all=True, filters={}, format="table {{.Names}}\\t{{.Status}}")
    assert reply.body == "NAMES     STATUS\nweb       Up 2 minutes\ndb        Exited (0) 1 hour ago"
    docker.containers = []
    assert call("ps", all=False, filters={}, format="{{.Names}}").body is None  # no rows: no empty block


def test_ps_all_passes_the_filters_to_docker(docker: RecordingDocker, call: Call) -> None:
    docker.containers = [container("web"), container("db", state="exited", status="Exited (0) 1 hour ago")]
    filters = {"label": ["tier=back"], "status": ["exited", "running"]}
    reply = call("ps", all=True, filters=filters)
    [(show_all, sent)] = docker.called("list_containers")
    assert show_all is True and {key: list(values) for key, values in sent.items()} == filters
    assert reply.text == "2 containers (exited, running)."  # the summary says what the filter kept
    assert reply.body is not None and "Exited (0) 1 hour ago" in reply.body


def test_a_status_filter_heads_the_table_with_its_status_not_running(docker: RecordingDocker,
                                                                     call: Call) -> None:
    docker.containers = [container("a", state="exited", status="Exited (1) 2 minutes ago"),
                         container("b", state="exited", status="Exited (0) 1 hour ago")]
    assert call("ps", all=False, filters={"status": ["exited"]}).text == "2 containers (exited)."


@pytest.mark.parametrize(("show_all", "text"), [(False, "No running containers."), (True, "No containers.")])
def test_ps_with_nothing_to_show(call: Call, show_all: bool, text: str) -> None:
    reply = call("ps", all=show_all, filters={"name": ["nothing"]})
    assert reply.text == text
    assert reply.body is None and reply.buttons == ()  # no lone header, no empty menu


def test_an_empty_cli_table_keeps_its_header_like_docker(call: Call) -> None:
    header = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"
    assert call("ps", format="table").body == header
    assert call("images").body is None


def test_ps_offers_a_menu_per_listed_container(docker: RecordingDocker, call: Call) -> None:
    docker.containers = [container("a"), container("b", state="exited", status="Exited (1) 2 minutes ago")]
    reply = call("ps", all=True, filters={})
    assert [(b.group, b.label) for b in reply.buttons] == [("a", "Logs"), ("a", "Restart"), ("a", "Stop"),
                                                          ("b", "Logs"), ("b", "Start")]


def test_images_table(docker: RecordingDocker, call: Call) -> None:
    docker.images = [ImageSummary("sha256:" + canned_id("busybox"), (IMAGE,), 1_700_000_000, 1_985_472)]
    reply = call("images")
    assert docker.calls == [("list_images",)]
    assert reply.text == "1 image." and reply.filename == "images.txt"
    assert reply.body is not None
    assert reply.body.splitlines()[0].split() == ["IMAGE", "ID", "CREATED", "SIZE"]  # compact
    assert reply.body.splitlines()[1].split()[:2] == [IMAGE, canned_id("busybox")[:12]]
    wide = call("images", format="table").body
    assert wide is not None and wide.splitlines()[0].split()[:3] == ["REPOSITORY", "TAG", "IMAGE"]
    assert wide.splitlines()[1].split()[:3] == ["busybox", "latest", canned_id("busybox")[:12]]
    assert call("images", format="{{.Repository}}:{{.Tag}} {{.Size}}").body == "busybox:latest 1.99MB"


def test_inspect_masks_environment_values(docker: RecordingDocker, call: Call) -> None:
    docker.documents["web"] = {"State": {"Running": True}, "Config": {"Env": ["DB_PASSWORD=hunter2"]}}
    reply = call("inspect", name="web")
    assert docker.calls == [("inspect", "web")]
    assert reply.filename == "web.json" and reply.text.startswith("Inspect of container `web`")
    assert reply.body is not None and "DB_PASSWORD=***" in reply.body and "hunter2" not in reply.body


def test_inspect_of_an_image_says_so(docker: RecordingDocker, call: Call) -> None:
    # Only container documents carry a State.
    docker.documents[IMAGE] = {"RepoTags": [IMAGE], "Config": {"Env": ["PATH=/bin"]}}
    reply = call("inspect", name=IMAGE)
    assert reply.text.startswith(f"Inspect of image `{IMAGE}`") and reply.filename == "busybox_latest.json"


# --- run -----------------------------------------------------------------------------------------------

RUN_ARGS: dict[str, Any] = {
    "image": IMAGE,
    "command": ["sh", "-c", "echo hi"],
    "name": "web",
    "ports": [{"host_ip": "", "host_port": "8080", "container_port": "80", "proto": "tcp"}],
    "env": ["K=V"],
    "labels": {"team": "a"},
    "volumes": [{"source": "data", "target": "/data", "read_only": True}],
    "network": "backend",
    "restart": {"name": "on-failure", "max_retries": 3},
    "memory": 268435456,
    "nano_cpus": 500000000,
    "user": "1000:1000",
    "workdir": "/app",
}


def test_run_passes_every_option_and_ownership_labels_and_reports_id_and_name(
    docker: RecordingDocker, call: Call
) -> None:
    docker.run_result = RunResult(id=canned_id("web"), name="web")
    docker.local_images.add(IMAGE)  # on the host already: `--pull missing` (the default) pulls nothing
    reply = call("run", **RUN_ARGS)
    assert docker.called("pull") == []
    [(spec, labels)] = docker.called("run")
    assert labels == {"dockbolt.managed": "true", "dockbolt.created-by": "UALICE", "dockbolt.job": "job42"}
    assert spec.labels == {"team": "a"}
    assert (spec.image, spec.command, spec.name, spec.env) == (
        IMAGE,
        ("sh", "-c", "echo hi"),
        "web",
        ("K=V",),
    )
    # a port published without an address binds [policy] publish_address (127.0.0.1 by default)
    assert [(p.host_ip, p.host_port, p.container_port, p.proto) for p in spec.ports] == [
        ("127.0.0.1", "8080", "80", "tcp")
    ]
    assert (spec.pids_limit, spec.security_opt) == (512, ("no-new-privileges:true",))
    assert [(v.source, v.target, v.read_only) for v in spec.volumes] == [("data", "/data", True)]
    assert spec.restart is not None and (spec.restart.name, spec.restart.max_retries) == ("on-failure", 3)
    assert (spec.network, spec.memory, spec.nano_cpus) == ("backend", 268435456, 500000000)
    assert (spec.user, spec.workdir) == ("1000:1000", "/app")
    assert reply.ok and reply.text == f"Started container `web` (`{canned_id('web')[:12]}`) from `{IMAGE}`."
    assert call.progress == [f"starting a container from {IMAGE}…"]


def test_run_with_reserved_user_labels_never_reaches_docker(docker: RecordingDocker, call: Call) -> None:
    # Ownership labels must stay trustworthy: a job claiming dockbolt.* labels is refused as malformed.
    forged = {**RUN_ARGS, "labels": {"team": "a", "dockbolt.created-by": "UMALLORY"}}
    with pytest.raises(ContractError, match="reserved"):
        call("run", **forged)
    assert docker.calls == []


# --- stop, start, restart, rm --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "args", "method", "sent", "past"),
    [
        ("stop", {"timeout": 7}, "stop", (7,), "Stopped"),
        ("start", {}, "start", (), "Started"),
        ("restart", {"timeout": None}, "restart", (None,), "Restarted"),
        ("rm", {"force": True}, "remove", (True,), "Removed"),
        ("rm", {"force": False}, "remove", (False,), "Removed"),
    ],
)
def test_multi_name_verbs_act_on_every_name_and_report_each_failure(
    docker: RecordingDocker,
    call: Call,
    verb: str,
    args: dict[str, Any],
    method: str,
    sent: tuple[Any, ...],
    past: str,
) -> None:
    docker.fail(method, not_found(), name="ghost")
    reply = call(verb, names=["web", "ghost", "db"], **args)
    assert sorted(docker.called(method)) == sorted((name, *sent) for name in ("web", "ghost", "db"))
    assert not reply.ok
    assert reply.text.splitlines() == [
        f"{past} `web`, `db`.",
        "Failed for 1 container:",
        "• `ghost`: No such container: ghost",
    ]
    assert len(call.progress) == 1 and "web, ghost, db" in call.progress[0]


def test_a_multi_name_verb_that_succeeds_says_so_in_one_line(call: Call) -> None:
    reply = call("start", names=["web"])
    assert reply.ok and reply.text == "Started `web`."


def test_any_refusal_is_reported_per_name_in_dockers_words(docker: RecordingDocker, call: Call) -> None:
    refusal = DockerError("You cannot remove a running container 0123. Stop the container before …")
    docker.fail("remove", refusal, name="web")
    reply = call("rm", names=["web"], force=False)
    assert not reply.ok
    assert reply.text.splitlines() == ["Failed for 1 container:", f"• `web`: {refusal}"]


# --- logs ----------------------------------------------------------------------------------------------


def test_logs_asks_for_the_tail_and_returns_a_named_body(docker: RecordingDocker, call: Call) -> None:
    docker.logs_of["web"] = b"two\nthree\n"
    reply = call("logs", name="web", tail=2, since=None, timestamps=True)
    # One byte more than is kept tells the handler whether anything older was cut.
    assert docker.calls == [("logs", "web", 2, None, True, logs.MAX_LOG_BYTES + 1)]
    assert (reply.body, reply.filename) == ("two\nthree\n", "web.log")
    assert reply.text == "Logs of `web`: 2 lines."


def test_logs_relative_since_is_counted_back_from_execution_time(docker: RecordingDocker, call: Call) -> None:
    before = time.time()
    call("logs", name="web", tail=None, since={"seconds_ago": 60}, timestamps=False)
    after = time.time()
    [(_, _, since, _, _)] = docker.called("logs")
    assert math.floor(before) - 60 <= since <= after - 60


def test_logs_absolute_since_is_floored_to_whole_seconds(docker: RecordingDocker, call: Call) -> None:
    # The engine takes whole seconds; one line too many beats one too few.
    call("logs", name="web", tail=None, since={"unix": 1_700_000_050.9}, timestamps=False)
    [(_, _, since, _, _)] = docker.called("logs")
    assert since == 1_700_000_050


def test_huge_logs_keep_the_newest_whole_lines_and_say_so(
    docker: RecordingDocker, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 20)
    # What the port returns for "first line\nsecond line\nthird\nlast\n": its newest 21 bytes.
    docker.logs_of["web"] = b"cond line\nthird\nlast\n"
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert docker.called("logs")[0][-1] == 21
    # The newest 20 bytes start inside "second line"; that partial line is dropped.
    assert reply.body == "third\nlast\n"
    assert reply.text == "Logs of `web`: 2 lines (older output cut: only the newest part is shown)."


def test_logs_of_exactly_the_limit_are_not_cut(
    docker: RecordingDocker, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 20)
    docker.logs_of["web"] = b"first\nsecond\nthird!\n"
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert reply.body == "first\nsecond\nthird!\n" and reply.text == "Logs of `web`: 3 lines."


def test_logs_of_a_silent_container(call: Call) -> None:
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert reply.body is None and reply.text == "No log output from `web`."


def test_a_cut_log_stream_fails_the_job_with_the_whole_lines_that_arrived(
    docker: RecordingDocker, call: Call
) -> None:
    docker.fail("logs", LogStreamCut("the connection closed before the stream's end", b"one\ntwo\nthr"))
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert not reply.ok
    assert reply.body == "one\ntwo\n"  # the line that stopped halfway is not shown as if whole
    assert reply.text == (":warning: Logs of `web`: the log stream was cut short after 2 lines: the "
                          "connection closed before the stream's end. What arrived is below; the rest of the "
                          "log was not received.")


def test_a_log_stream_cut_before_a_whole_line_says_so(docker: RecordingDocker, call: Call) -> None:
    docker.fail("logs", LogStreamCut("the engine sent nothing for 60 s (read timed out)", b"partial"))
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert not reply.ok and reply.body is None
    assert reply.text == (":warning: Logs of `web`: the log stream was cut short before a whole line "
                          "arrived: the engine sent nothing for 60 s (read timed out).")


def test_a_cut_log_stream_past_the_limit_keeps_the_newest_whole_lines(
    docker: RecordingDocker, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 20)
    docker.fail("logs", LogStreamCut("cut", b"cond line\nthird\nlast\nhalf"))
    reply = call("logs", name="web", tail=None, since=None, timestamps=False)
    assert not reply.ok and reply.body == "third\nlast\n"
    assert "cut short after 2 lines (older output cut too" in reply.text


# --- stats ---------------------------------------------------------------------------------------------


def test_stats_without_names_samples_every_running_container(docker: RecordingDocker, call: Call) -> None:
    docker.containers = [container("web"), container("db")]
    docker.samples = {canned_id(name): sample(name) for name in ("web", "db")}
    reply = call("stats", names=[])
    assert docker.called("list_containers") == [(False, None)]
    assert sorted(docker.called("stats")) == sorted([(canned_id("web"),), (canned_id("db"),)])
    assert reply.ok and reply.text == "Stats for 2 containers (one sample each)."
    assert reply.body is not None
    assert sorted(line.split()[1] for line in reply.body.splitlines()[1:]) == ["db", "web"]
    assert call.progress == ["sampling 2 containers…"]


def test_stats_with_nothing_running(docker: RecordingDocker, call: Call) -> None:
    reply = call("stats", names=[])
    assert reply.text == "No running containers." and reply.body is None
    assert docker.called("stats") == []


def test_stats_row_is_computed_from_the_sample(docker: RecordingDocker, call: Call) -> None:
    docker.samples["web"] = sample(
        "web",
        cpu_stats={"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2},
        precpu_stats={"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
        memory_stats={"usage": 10 * 1024**2, "limit": 64 * 1024**2, "stats": {"total_inactive_file": 0}},
        pids_stats={"current": 3},
    )
    reply = call("stats", names=["web"])
    assert reply.body is not None
    assert reply.body.splitlines()[1].split() == [
        canned_id("web")[:12],
        *("web", "40.00%", "10MiB", "/", "64MiB", "15.62%", "0B", "/", "0B", "0B", "/", "0B", "3"),
    ]


def test_stats_reports_each_failed_container(docker: RecordingDocker, call: Call) -> None:
    docker.samples["web"] = sample("web")
    docker.fail("stats", not_found(), name="ghost")
    reply = call("stats", names=["web", "ghost"])
    assert not reply.ok
    assert reply.text.splitlines() == [
        "Stats for 1 container (one sample each).",
        "Failed for 1 container:",
        "• `ghost`: No such container: ghost",
    ]
    assert reply.body is not None and len(reply.body.splitlines()) == 2


def test_stats_samples_in_parallel(
    docker: RecordingDocker, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each sample waits for the other: only concurrent sampling gets past the barrier.
    barrier = threading.Barrier(2, timeout=10)
    docker.samples = {name: sample(name) for name in ("web", "db")}
    recorded = docker.stats

    def waiting_stats(name: str) -> dict[str, Any]:
        barrier.wait()
        return recorded(name)

    monkeypatch.setattr(docker, "stats", waiting_stats)
    assert call("stats", names=["web", "db"]).ok


# --- what reaches the runner ---------------------------------------------------------------------------

SINGLE_TARGET = [
    ("ps", {"all": True, "filters": {}}, "list_containers"),
    ("images", {}, "list_images"),
    ("inspect", {"name": "web"}, "inspect"),
    ("run", {"image": IMAGE, "command": ["true"]}, "run"),
    ("logs", {"name": "web", "tail": None, "since": None, "timestamps": False}, "logs"),
    ("stats", {"names": []}, "list_containers"),
]
PER_NAME = [
    ("stop", {"names": ["web"], "timeout": None}, "stop"),
    ("start", {"names": ["web"]}, "start"),
    ("restart", {"names": ["web"], "timeout": None}, "restart"),
    ("rm", {"names": ["web"], "force": False}, "remove"),
    ("stats", {"names": ["web"]}, "stats"),
]


@pytest.mark.parametrize(("verb", "args", "method"), SINGLE_TARGET)
@pytest.mark.parametrize(
    ("kind", "words"), [(TargetNotFound, "No such object: web"), (DockerError, "No such image: nope:latest")]
)
def test_single_target_verbs_leave_dockers_words_to_the_runner(
    docker: RecordingDocker,
    call: Call,
    verb: str,
    args: dict[str, Any],
    method: str,
    kind: type[Exception],
    words: str,
) -> None:
    error = kind(words)
    docker.fail(method, error)
    with pytest.raises(type(error)) as raised:
        call(verb, **args)
    assert raised.value is error


@pytest.mark.parametrize(("verb", "args", "method"), SINGLE_TARGET + PER_NAME)
@pytest.mark.parametrize("kind", [DockerUnavailable, KeyError], ids=["unavailable", "bug"])
def test_an_unreachable_engine_or_a_bug_is_never_a_per_name_failure(
    docker: RecordingDocker, call: Call, verb: str, args: dict[str, Any], method: str, kind: type[Exception]
) -> None:
    error = kind("Cannot reach the Docker engine at unix:///x: Connection refused")
    docker.fail(method, error)
    with pytest.raises(type(error)) as raised:
        call(verb, **args)
    assert raised.value is error
