"""Parsing `stats`: NAMEs, `--sort cpu|mem [-n N]`, `NAME --since DURATION`; bad values are usage errors;
old payloads (names only) still decode."""

from __future__ import annotations

import pytest

from bot.parsing import parse
from bot.verbs import VERBS
from dockbolt.core.args import StatsArgs
from dockbolt.core.errors import ContractError, UsageError


def args_of(text: str) -> StatsArgs:
    cmd = parse(text)
    assert isinstance(cmd.args, StatsArgs)
    assert StatsArgs.from_dict(cmd.args.to_dict()) == cmd.args  # the queue round trip
    return cmd.args


def error(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.usage == VERBS["stats"].usage
    return str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("stats", StatsArgs()),
    ("stats web db", StatsArgs(("web", "db"))),
    ("stats web --since 6h", StatsArgs(("web",), since=6 * 3600)),
    ("stats --since 1h30m web", StatsArgs(("web",), since=5400)),
    ("stats web --since 7d", StatsArgs(("web",), since=7 * 86400)),
    ("stats --sort cpu", StatsArgs(sort="cpu")),
    ("stats --sort mem -n 5", StatsArgs(sort="mem", limit=5)),
    ("stats --sort=cpu --limit=3", StatsArgs(sort="cpu", limit=3)),
    ("stats web db --sort mem", StatsArgs(("web", "db"), sort="mem")),
])
def test_parses(text: str, expected: StatsArgs) -> None:
    assert args_of(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("stats --since 6h", "exactly one NAME"),
    ("stats web db --since 6h", "exactly one NAME"),
    ("stats web --since 0s", "longer than 0s"),
    ("stats web --since soon", "must be a duration"),
    ("stats web --since 2024-05-01", "must be a duration"),
    ("stats --sort gpu", "must be `cpu` or `mem`"),
    ("stats --sort", "--sort"),
    ("stats --sort cpu -n 0", "≥ 1"),
    ("stats --sort cpu -n x", "whole number"),
    ("stats -n 3", "use it with `--sort"),
    ("stats web --since 1h --sort cpu", "does not combine"),
])
def test_bad_values_are_usage_errors(text: str, says: str) -> None:
    assert says in error(text)


def test_old_payloads_decode() -> None:
    assert StatsArgs.from_dict({"names": ["web"]}) == StatsArgs(("web",))


@pytest.mark.parametrize("payload", [
    {"names": [], "since": 60},  # a chart needs one name
    {"names": ["web"], "since": 0},
    {"names": [], "sort": "disk"},
    {"names": [], "limit": -1},
])
def test_the_contract_refuses_what_the_parser_would(payload: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        StatsArgs.from_dict(payload)


def test_usage_and_help_mention_the_new_flags() -> None:
    spec = VERBS["stats"]
    assert "--since" in spec.usage and "--sort cpu|mem" in spec.usage and "-n N" in spec.usage
    assert {name for flag in spec.flags for name in flag.names} >= {"--since", "--sort", "-n"}
