"""Worker formatting and texts: tables compared with what the Docker CLI printed for the same data here."""

from __future__ import annotations

import copy
import json

import pytest

from dockbolt.core.redact import Redactor
from dockbolt.core.tables import table
from workers.docker_port import ContainerSummary, ImageSummary, PortMapping, RunResult
from workers.formatting import (
    StatsRow,
    displayable_ports,
    ellipsis,
    familiar_image,
    go_quote,
    human_duration,
    images_table,
    inspect_json,
    ps_table,
    stats_table,
)
from workers.messages import logs_summary, per_name_result, run_done, safe_filename

MINUTE, HOUR, DAY = 60, 3600, 86400
WEEK, MONTH, YEAR = 7 * DAY, 30 * DAY, 365 * DAY


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        # go-units duration_test.go TestHumanDuration
        (0.45, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (3 * MINUTE, "3 minutes"),
        (35 * MINUTE + 40, "35 minutes"),
        (59 * MINUTE, "59 minutes"),
        (HOUR, "About an hour"),
        (HOUR + 29 * MINUTE, "About an hour"),
        (HOUR + 31 * MINUTE, "2 hours"),
        (3 * HOUR + 59 * MINUTE, "4 hours"),
        (DAY, "24 hours"),
        (DAY + 12 * HOUR, "36 hours"),
        (2 * DAY, "2 days"),
        (13 * DAY + 5 * HOUR, "13 days"),
        (2 * WEEK, "2 weeks"),
        (MONTH, "4 weeks"),
        (MONTH + 2 * WEEK, "6 weeks"),
        (2 * MONTH, "2 months"),
        (23 * MONTH, "23 months"),
        (24 * MONTH, "24 months"),
        (24 * MONTH + 2 * WEEK, "2 years"),
        (3 * YEAR + 2 * MONTH, "3 years"),
        (-5, "Less than a second"),  # clock skew between engine and worker
    ],
)
def test_human_duration_matches_go_units(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_command_cell_is_ellipsized_then_go_quoted_like_docker_ps() -> None:
    # `docker ps` printed  "sh -c 'echo \"a\\\"b\" …"  for this Command
    command = 'sh -c \'echo "a\\"b" && sleep 300 # a long command\''
    assert go_quote(ellipsis(command, 20)) == '"sh -c \'echo \\"a\\\\\\"b\\" …"'
    assert go_quote(ellipsis("sleep 300", 20)) == '"sleep 300"'


def test_ellipsis_counts_wide_characters_twice() -> None:
    assert ellipsis("日本語の長いコマンド", 8) == "日本語…"
    assert ellipsis("abc", 3) == "abc"


def test_go_quote_escapes_control_characters() -> None:
    assert go_quote("a\tb\n\x01") == '"a\\tb\\n\\x01"'


# The list API's Ports for `docker run -p 127.0.0.1:18080:80 -p 81 -p 82/udp …` on this machine.
API_PORTS = (
    PortMapping(80, "tcp", "127.0.0.1", 18080),
    PortMapping(81, "tcp", "0.0.0.0", 32768),
    PortMapping(81, "tcp", "::", 32768),
    PortMapping(82, "udp", "0.0.0.0", 32768),
    PortMapping(82, "udp", "::", 32768),
)
CLI_PORTS = (
    "127.0.0.1:18080->80/tcp, 0.0.0.0:32768->81/tcp, [::]:32768->81/tcp, "
    "0.0.0.0:32768->82/udp, [::]:32768->82/udp"
)


def test_ports_like_docker_ps() -> None:
    assert displayable_ports(reversed(API_PORTS)) == CLI_PORTS


def test_ports_group_consecutive_identity_mappings_and_exposed_ports() -> None:
    ports = [
        PortMapping(8081, "tcp", "0.0.0.0", 8081),
        PortMapping(8080, "tcp", "0.0.0.0", 8080),
        PortMapping(80, "tcp"),
        PortMapping(81, "tcp"),
        PortMapping(443, "tcp"),
    ]
    assert displayable_ports(ports) == "80-81/tcp, 443/tcp, 0.0.0.0:8080-8081->8080-8081/tcp"
    assert displayable_ports([]) == ""


def test_ps_table_matches_the_cli_byte_for_byte() -> None:
    created = 1795705419
    container = ContainerSummary(
        id="986d1e087ac2a7f281be67f148c203c15b8054d1da8a507c9263bc0e8564bad8",
        names=("t1",),
        image="dockbolt-test/busybox:latest",
        image_id="sha256:8fe6e0346895bc93530abc7023e8bb855125242c688348a97cf36306042947f7",
        command="sleep 100",
        created=created,
        state="running",
        status="Up 3 seconds",
        ports=API_PORTS,
    )
    # Copied from `docker ps` (CLI 28.2) 4 seconds after the container was created.
    expected = (
        "CONTAINER ID   IMAGE                          COMMAND       CREATED         STATUS         PORTS"
        + " " * (len(CLI_PORTS) + 3 - len("PORTS"))
        + "NAMES\n"
        '986d1e087ac2   dockbolt-test/busybox:latest   "sleep 100"   4 seconds ago   Up 3 seconds   '
        + CLI_PORTS
        + "   t1"
    )
    assert ps_table([container], now=created + 4).render() == expected


def test_ps_table_without_containers_is_the_header() -> None:
    assert ps_table([], now=0).render() == (
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES")


def test_stats_table_matches_the_cli_byte_for_byte() -> None:
    row = StatsRow("986d1e087ac2", "t1", "0.00%", "612KiB / 64MiB", "0.93%", "736B / 0B", "0B / 0B", "1")
    # Copied from `docker stats --no-stream t1`.
    assert stats_table([row]).render() == (
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O   PIDS\n"
        "986d1e087ac2   t1        0.00%     612KiB / 64MiB      0.93%     736B / 0B   0B / 0B     1"
    )


def test_images_table_matches_the_cli() -> None:
    now = 1795705144 + 6 * MINUTE + 10
    images = [
        ImageSummary(
            "sha256:8d06ba2a963747d12f5dc6c301bcde32c8f48d3d0091ed889f989f3f33d23bf9",
            (),
            1795705140,
            1_980_000,
        ),
        ImageSummary(
            "sha256:8fe6e0346895bc93530abc7023e8bb855125242c688348a97cf36306042947f7",
            ("dockbolt-test/busybox:latest",),
            1795705144,
            1_985_472,
        ),
    ]
    # Copied from `docker images -a`.
    assert images_table(images, now).render() == (
        "REPOSITORY              TAG       IMAGE ID       CREATED         SIZE\n"
        "dockbolt-test/busybox   latest    8fe6e0346895   6 minutes ago   1.99MB\n"
        "<none>                  <none>    8d06ba2a9637   6 minutes ago   1.98MB"
    )


def test_images_table_one_row_per_tag_and_registry_ports_are_not_tags() -> None:
    image = ImageSummary("sha256:" + "ab" * 32, ("localhost:5000/app", "app:1.0"), 0, 10)
    body = images_table([image], now=0).render().splitlines()
    assert body[1].split()[:2] == ["localhost:5000/app", "<none>"]
    assert body[2].split()[:2] == ["app", "1.0"]


def test_table_pads_every_column_but_the_last_to_at_least_ten() -> None:
    assert table(["A", "B"], [["x", "y"]]) == "A         B\nx         y"
    assert table(["A", "B"], [["a-long-cell", "y"]]) == "A             B\na-long-cell   y"


def test_familiar_image() -> None:
    assert familiar_image("docker.io/library/busybox:1.36@sha256:" + "0" * 64) == "busybox:1.36"
    assert familiar_image("docker.io/acme/app") == "acme/app"
    assert familiar_image("sha256:8fe6e0346895bc93", "sha256:8fe6e0346895bc93530abc70") == "8fe6e0346895"
    assert familiar_image("") == "<no image>"


INSPECT = {
    "Id": "abc",
    "Path": "sh",
    "Args": ["-c", "run --token tok3n-value --password=pw-value"],
    "Config": {
        "Env": ["PASSWORD=hunter2", "URL=postgres://u:p@db/x?a=b", "BARE"],
        "Cmd": ["app", "--api-key", "key-value", "--name", "web"],
        "Labels": {"Env": "x", "com.example.api-key": "label-value", "owner": "ops xoxb-111-222-abcdef"},
    },
    "ContainerConfig": {"Env": ["TOKEN=s3cret"]},
    "Mounts": [{"Env": ["NESTED=deep"]}],
}


def test_mask_document_hides_env_args_and_labels_keeps_names_and_does_not_mutate() -> None:
    before = copy.deepcopy(INSPECT)
    masked = Redactor().mask_document(INSPECT)
    assert masked["Config"]["Env"] == ["PASSWORD=***", "URL=***", "BARE"]
    assert masked["ContainerConfig"]["Env"] == ["TOKEN=***"]
    assert masked["Mounts"][0]["Env"] == ["NESTED=***"]
    assert masked["Config"]["Cmd"] == ["app", "--api-key", "***", "--name", "web"]
    assert masked["Args"] == ["-c", "run --token tok3n-value --password=***"]  # one string: no flag pairs
    assert masked["Config"]["Labels"] == {"Env": "x", "com.example.api-key": "***", "owner": "ops xoxb-***"}
    assert masked["Path"] == "sh" and masked["Id"] == "abc"
    assert before == INSPECT


def test_inspect_json_is_a_docker_style_array_without_secrets() -> None:
    text = inspect_json(INSPECT)
    assert text.startswith('[\n    {\n        "Id": "abc"')
    assert json.loads(text)[0]["Config"]["Env"][0] == "PASSWORD=***"
    for secret in ("hunter2", "postgres://", "s3cret", "deep", "key-value", "label-value", "pw-value",
                   "abcdef"):
        assert secret not in text


def test_inspect_json_applies_the_extra_patterns() -> None:
    text = inspect_json(INSPECT, Redactor([r"tok3n-\w+"]))
    assert "tok3n-value" not in text and "run --token *** --password=***" in text


def test_per_name_result_lists_dockers_words_for_each_failure() -> None:
    text = per_name_result("Stopped", ["web"], [("db", "No such container: db"), ("x", "boom")])
    assert text.splitlines() == [
        "Stopped `web`.",
        "Failed for 2 containers:",
        "• `db`: No such container: db",
        "• `x`: boom",
    ]
    assert per_name_result("Stopped", [], [("db", "e")]).splitlines()[0] == "Failed for 1 container:"


def test_small_texts() -> None:
    assert run_done(RunResult("0123456789abcdef", "web"), "busybox") == (
        "Started container `web` (`0123456789ab`) from `busybox`."
    )
    assert logs_summary("web", 0, False) == "No log output from `web`."
    assert "older output cut" in logs_summary("web", 3, True)
    assert safe_filename("web", ".log") == "web.log"
    assert safe_filename("../../etc/x y", ".log") == "_.._etc_x_y.log"
