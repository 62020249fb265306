"""The pieces of private answers: `--private` in the parser, ``[slack] private_verbs``, the job field."""

from __future__ import annotations

import tomllib

import pytest

from bot.parsing import PrivateCommand, answers_privately, parse
from bot.verbs import CATALOG
from dockbolt.core.config import parse_config
from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import ConfigError, ContractError, UsageError


@pytest.mark.parametrize("text", ["ps --private", "ps -a --private", "ps --private -a",
                                  "@all ps --private", "logs --private web", "inspect web --private",
                                  "service ls --private", "service --private ls", "service-ls --private",
                                  "@db1 images --private", "stats --private web"])
def test_private_on_a_verb_that_only_reads(text: str) -> None:
    cmd = parse(text)
    assert isinstance(cmd, PrivateCommand) and answers_privately(cmd)
    assert "--private" not in str(cmd.args)


def test_private_keeps_what_it_was_typed_with() -> None:
    cmd = parse("@db1 ps -a --private --filter name=web")
    assert cmd.host == "db1" and cmd.verb == "ps"
    assert cmd.args == parse("@db1 ps -a --filter name=web").args


@pytest.mark.parametrize("text", ["ps", "ps -a", "logs web", "service ls"])
def test_without_private_nothing_is_private(text: str) -> None:
    assert not answers_privately(parse(text))


@pytest.mark.parametrize("text, verb", [
    ("stop --private web", "stop"), ("run --private busybox", "run"), ("rm web --private", "rm"),
    ("service rm --private web", "service rm"), ("service scale --private web=2", "service scale"),
    ("whoami --private", "whoami")])
def test_private_is_a_usage_error_on_other_verbs(text: str, verb: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert "`--private` works only with the verbs that only read" in str(info.value)
    assert f"`{verb}`" in str(info.value) and info.value.usage


def test_private_takes_no_value() -> None:
    with pytest.raises(UsageError, match="takes no value"):
        parse("ps --private=true")


def test_private_after_the_image_is_the_container_s_command() -> None:
    cmd = parse("run busybox echo --private")
    assert not answers_privately(cmd) and cmd.args.to_dict()["command"] == ["echo", "--private"]


def test_help_with_private_is_help() -> None:
    assert parse("ps --private --help").verb == "help"


def test_private_verbs_from_the_config() -> None:
    assert answers_privately(parse("logs web"), frozenset({"logs"}))
    assert answers_privately(parse("service ls"), frozenset({"service-ls"}))
    assert not answers_privately(parse("service ps web"), frozenset({"service-ls"}))
    assert not answers_privately(parse("ps"), frozenset({"logs"}))


def _config(slack: str) -> object:
    return parse_config(tomllib.loads(f"[slack]\n{slack}\n"), "dockbolt.toml", CATALOG)


def test_config_private_verbs_default_to_none() -> None:
    assert _config("").slack.private_verbs == frozenset()  # type: ignore[attr-defined]


def test_config_private_verbs_that_only_read() -> None:
    config = _config('private_verbs = ["ps", "logs", "service-ls"]')
    assert config.slack.private_verbs == {"ps", "logs", "service-ls"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("verbs, said", [
    ('["stop"]', '"stop" changes things'),
    ('["ps", "service-rm"]', '"service-rm" changes things'),
    ('["service"]', "name the subcommands that read"),
    ('["pss"]', 'unknown verb "pss" (did you mean "ps"?)'),
    ('"ps"', "must be an array of strings"),
])
def test_config_private_verbs_that_change_things_are_refused(verbs: str, said: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(f"private_verbs = {verbs}")
    (problem,) = info.value.problems
    assert problem.startswith("dockbolt.toml: slack.private_verbs") and said in problem, problem


def test_the_job_carries_private_and_older_jobs_are_not() -> None:
    job = JobRequest(job_id="abc123", verb="ps", args={}, user_id="U1", channel_id="C1", command_text="ps",
                     private=True)
    data = job.to_dict()
    assert data["private"] is True and JobRequest.from_dict(data) == job
    del data["private"]  # a job queued by a bot from before the field
    assert JobRequest.from_dict(data).private is False
    with pytest.raises(ContractError):
        JobRequest.from_dict({**job.to_dict(), "private": "yes"})
