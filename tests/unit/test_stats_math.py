"""stats_math against go-units' own test vectors, numbers checked by hand, and real engine samples."""

from __future__ import annotations

from typing import Any

import pytest

from workers.formatting import bytes_size, human_size, percent, stats_row
from workers.stats_math import (
    block_io,
    cpu_percent,
    memory_percent,
    memory_used,
    network_io,
    pids,
)

KiB, MiB, GiB, TiB, PiB = 1024, 1024**2, 1024**3, 1024**4, 1024**5


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # go-units size_test.go TestBytesSize
        (1024, "1KiB"),
        (1024 * 1024, "1MiB"),
        (2 * MiB, "2MiB"),
        (3.42 * GiB, "3.42GiB"),
        (5.372 * TiB, "5.372TiB"),
        (2.22 * PiB, "2.22PiB"),
        (KiB * KiB * KiB * KiB * KiB * PiB, "1.049e+06YiB"),
        # by hand: 626688 / 1024 = 612 exactly (the CLI printed "612KiB" for this sample)
        (626688, "612KiB"),
        (0, "0B"),
        (1023, "1023B"),
        # 1535 / 1024 = 1.4990… -> 4 significant digits
        (1535, "1.499KiB"),
    ],
)
def test_bytes_size_matches_go_units(size: float, expected: str) -> None:
    assert bytes_size(size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1000, "1kB"),
        (1024, "1.02kB"),
        (1_048_576, "1.05MB"),
        (736, "736B"),
        (0, "0B"),
        # `docker images` showed 1.99MB for this Size
        (1_985_472, "1.99MB"),
        # 999.95 kB rounds to 3 digits as 1000, which %g writes with an exponent (the CLI does too)
        (999_950, "1e+03kB"),
    ],
)
def test_human_size_precision_3(size: float, expected: str) -> None:
    assert human_size(size) == expected


def test_human_size_precision_4_is_go_units_human_size() -> None:
    # go-units size_test.go TestHumanSize (HumanSize = precision 4)
    assert human_size(1024, 4) == "1.024kB"
    assert human_size(1_048_576, 4) == "1.049MB"
    assert human_size(3.42 * 1000**3, 4) == "3.42GB"
    assert human_size(10_000_000_000_000 * 1000**5, 4) == "1e+04YB"


def _cpu(total: int, system: int, online: int | None = None, percpu: int = 0) -> dict[str, Any]:
    usage: dict[str, Any] = {"total_usage": total}
    if percpu:
        usage["percpu_usage"] = [1] * percpu
    out: dict[str, Any] = {"cpu_usage": usage, "system_cpu_usage": system}
    if online is not None:
        out["online_cpus"] = online
    return out


def test_cpu_percent_uses_deltas_against_precpu_and_online_cpus() -> None:
    # container used 20 ms of 2 s system time on 2 CPUs: 0.02/2 * 2 * 100 = 2 %
    sample = {
        "cpu_stats": _cpu(30_000_000, 4_000_000_000, 2),
        "precpu_stats": _cpu(10_000_000, 2_000_000_000, 2),
    }
    assert cpu_percent(sample) == pytest.approx(2.0)
    assert percent(cpu_percent(sample)) == "2.00%"


def test_cpu_percent_falls_back_to_percpu_count() -> None:
    sample = {
        "cpu_stats": _cpu(30_000_000, 4_000_000_000, percpu=4),
        "precpu_stats": _cpu(10_000_000, 2_000_000_000),
    }
    assert cpu_percent(sample) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("cpu", "pre"),
    [
        (_cpu(10, 2_000, 2), _cpu(10, 1_000, 2)),  # no container delta
        (_cpu(20, 1_000, 2), _cpu(10, 1_000, 2)),  # no system delta
        (_cpu(5, 2_000, 2), _cpu(10, 1_000, 2)),  # counter went backwards (container restarted)
    ],
)
def test_cpu_percent_is_zero_when_a_delta_is_not_positive(cpu: dict[str, Any], pre: dict[str, Any]) -> None:
    assert cpu_percent({"cpu_stats": cpu, "precpu_stats": pre}) == 0.0


def test_memory_cgroup_v1_subtracts_total_inactive_file() -> None:
    sample = {
        "memory_stats": {"usage": 10 * MiB, "limit": 64 * MiB, "stats": {"total_inactive_file": 2 * MiB}}
    }
    assert memory_used(sample) == 8 * MiB
    assert memory_percent(sample) == pytest.approx(12.5)
    assert stats_row(sample).mem_usage == "8MiB / 64MiB"
    assert stats_row(sample).mem_percent == "12.50%"


def test_memory_cgroup_v1_ignores_inactive_file_not_below_usage() -> None:
    sample = {"memory_stats": {"usage": MiB, "limit": 64 * MiB, "stats": {"total_inactive_file": 2 * MiB}}}
    assert memory_used(sample) == MiB


def test_memory_cgroup_v2_subtracts_inactive_file() -> None:
    sample = {"memory_stats": {"usage": 3 * MiB, "limit": GiB, "stats": {"inactive_file": MiB}}}
    assert memory_used(sample) == 2 * MiB


def test_memory_percent_is_zero_without_a_limit() -> None:
    assert memory_percent({"memory_stats": {"usage": 5}}) == 0.0


def test_network_io_sums_all_interfaces() -> None:
    sample = {
        "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 10}, "eth1": {"rx_bytes": 500, "tx_bytes": 990}}
    }
    assert network_io(sample) == (2000, 1000)
    assert stats_row(sample).net_io == "2kB / 1kB"


def test_block_io_sums_ops_by_first_letter() -> None:
    entries = [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 16, "op": "read", "value": 1000},
        {"major": 8, "minor": 0, "op": "Write", "value": 8192},
        {"major": 8, "minor": 0, "op": "Sync", "value": 99},
        {"major": 8, "minor": 0, "op": "Total", "value": 12288},
        {"major": 8, "minor": 0, "op": "", "value": 7},
    ]
    sample = {"blkio_stats": {"io_service_bytes_recursive": entries}}
    assert block_io(sample) == (5096, 8192)
    assert stats_row(sample).block_io == "5.1kB / 8.19kB"


# A sample as engine 20.10 returned it for `docker run --memory 64m … sleep` (trimmed); the CLI showed
# "612KiB / 64MiB   0.93%" for this memory reading.
RUNNING = {
    "pids_stats": {"current": 1},
    "blkio_stats": {"io_service_bytes_recursive": []},
    "cpu_stats": {
        "cpu_usage": {"total_usage": 22179193, "percpu_usage": [10149490, 12029703]},
        "system_cpu_usage": 1029810000000,
        "online_cpus": 2,
    },
    "precpu_stats": {
        "cpu_usage": {"total_usage": 22179193, "percpu_usage": [10149490, 12029703]},
        "system_cpu_usage": 1027830000000,
        "online_cpus": 2,
    },
    "memory_stats": {
        "usage": 626688,
        "limit": 67108864,
        "stats": {"total_inactive_file": 0, "inactive_file": 0},
    },
    "name": "/t1",
    "id": "986d1e087ac2a7f281be67f148c203c15b8054d1da8a507c9263bc0e8564bad8",
    "networks": {"eth0": {"rx_bytes": 736, "tx_bytes": 0}},
}

# What engine 20.10 returns for a stopped container.
STOPPED = {
    "read": "0001-01-01T00:00:00Z",
    "pids_stats": {},
    "blkio_stats": {"io_service_bytes_recursive": None},
    "cpu_stats": {"cpu_usage": {"total_usage": 0}},
    "precpu_stats": {"cpu_usage": {"total_usage": 0}},
    "memory_stats": {},
    "name": "/cli2",
    "id": "24622b8acc5ed20434b3b2abbead693bf37d96fac6e10dcfcb87817d682e494e",
}


def test_row_for_a_real_running_sample() -> None:
    row = stats_row(RUNNING)
    assert row.container_id == "986d1e087ac2"
    assert row.name == "t1"
    assert row.cpu == "0.00%"
    assert row.mem_usage == "612KiB / 64MiB"
    assert row.mem_percent == "0.93%"
    assert row.net_io == "736B / 0B"
    assert row.block_io == "0B / 0B"
    assert row.pids == "1"
    assert pids(RUNNING) == 1


def test_row_for_a_stopped_container_is_all_zeros() -> None:
    row = stats_row(STOPPED)
    assert (row.container_id, row.name) == ("24622b8acc5e", "cli2")
    assert (row.cpu, row.mem_usage, row.mem_percent) == ("0.00%", "0B / 0B", "0.00%")
    assert (row.net_io, row.block_io, row.pids) == ("0B / 0B", "0B / 0B", "0")


def test_row_name_without_a_name_is_dashes() -> None:
    assert stats_row({}).name == "--"
