"""Each verb: the typed args it builds (as they travel, JSON), docker-like validation, bot-answered verbs."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import messages
from bot.parsing import parse
from bot.verbs import CATALOG, QUEUED_VERBS, VERBS
from bot.verbs.base import LocalContext
from bot.verbs.help import HelpArgs
from bot.verbs.lifecycle import MAX_GRACE
from bot.verbs.logs import DEFAULT_TAIL
from dockbolt.core.args import Args, NoArgs
from dockbolt.core.config import parse_config
from dockbolt.core.errors import UsageError
from dockbolt.core.rbac import DEFAULT_ROLES

STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
ALL_VERBS = tuple(VERBS)


def args(text: str) -> dict[str, Any]:
    """The command's args as they travel on the queue (JSON), checked to come back unchanged."""
    cmd = parse(text)
    sent = json.loads(json.dumps(cmd.args.to_dict()))
    assert type(cmd.args).from_dict(sent) == cmd.args
    return sent


def error(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.usage == VERBS[text.split()[0]].usage
    return str(info.value)


# --- registry ----------------------------------------------------------------------------------------


def test_registry_has_every_verb_under_its_own_name() -> None:
    assert {"help", "ps", "run", "stop", "logs"} <= set(VERBS)
    assert all(name == spec.name for name, spec in VERBS.items())


def test_only_help_whoami_why_jobs_audit_hosts_the_app_state_and_mute_verbs_are_answered_by_the_bot() -> None:
    answered = {"help", "whoami", "why", "jobs", "audit", "lock", "unlock", "deploys", "mute", "unmute",
                "hosts"}
    assert set(VERBS) - QUEUED_VERBS == answered
    assert all(VERBS[v].queued and VERBS[v].build is not None for v in QUEUED_VERBS)


def test_help_lists_reads_before_changes() -> None:
    ranks = [DEFAULT_ROLES.index(spec.default_role) for spec in VERBS.values()]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("name", ALL_VERBS)
def test_usage_starts_with_the_verb_and_summary_is_one_line(name: str) -> None:
    spec = VERBS[name]
    assert spec.usage.split()[0] == name
    assert spec.summary and "\n" not in spec.summary


@pytest.mark.parametrize("name", ALL_VERBS)
def test_flag_spellings_are_unique_and_docker_shaped(name: str) -> None:
    names = [n for flag in VERBS[name].flags for n in flag.names]
    assert len(names) == len(set(names))
    assert all((n.startswith("--") and len(n) > 3) or (len(n) == 2 and n[0] == "-") for n in names)


@pytest.mark.parametrize(
    ("verb", "timeout"),
    [
        ("ps", 60),
        ("images", 60),
        ("inspect", 60),
        ("logs", 120),
        ("stats", 60),
        ("run", 300),
        ("pull", 600),
        ("stop", MAX_GRACE + 60),
        ("restart", MAX_GRACE + 60),
    ],
)
def test_job_timeouts(verb: str, timeout: int) -> None:
    assert VERBS[verb].timeout == timeout


# --- ps --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ps", {"all": False, "filters": {}, "format": ""}),
        ("ps -a", {"all": True, "filters": {}, "format": ""}),
        ("ps --all", {"all": True, "filters": {}, "format": ""}),
        ("ps --filter name=web", {"all": False, "filters": {"name": ["web"]}, "format": ""}),
        (
            "ps -a --filter status=exited -f label=team=a --filter status=dead --filter=name=x",
            {"all": True, "filters": {"status": ["exited", "dead"], "label": ["team=a"], "name": ["x"]},
             "format": ""},
        ),
        ("ps -af status=running", {"all": True, "filters": {"status": ["running"]}, "format": ""}),
        ("ps --format table", {"all": False, "filters": {}, "format": "table"}),
        ("ps -a --format '{{.Names}} {{.Status}}'",
         {"all": True, "filters": {}, "format": "{{.Names}} {{.Status}}"}),
    ],
)
def test_ps(text: str, expected: dict[str, Any]) -> None:
    assert args(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ps --filter ancestor=busybox", "unsupported filter `ancestor`"),
        ("ps --filter name", "KEY=VALUE"),
        ("ps --filter name=", "needs a value"),
        ("ps --filter status=sleeping", "unknown status `sleeping`"),
        ("ps web", "takes no arguments"),
        ("ps --format '{{json .}}'", "only plain `{{.Field}}` placeholders work, not `{{json .}}`"),
        ("ps --format '{{.Names | upper}}'", "not `{{.Names | upper}}`"),
        ("ps --format '{{.Label \"team\"}}'", "only plain"),
        ("ps --format '{{.names}}'", "unknown field `.names` (did you mean `.Names`?)"),
        ("ps --format '{{.Networks}}'", "`.Networks` is not available in dockbolt yet"),
        ("ps --format '{{.Names'", "unclosed `{{`"),
        ("ps --format 'table {{.ID}}\\n'", "one line per row"),
        ("ps --format json", "`json` output is not supported"),
        ("images --format '{{.Repository}} {{.Names}}'", "unknown field `.Names`"),
        ("images --format '{{range .}}x{{end}}'", "only plain"),
        ("images --format", "needs an argument"),
    ],
)
def test_ps_errors(text: str, fragment: str) -> None:
    assert fragment in error(text)


@pytest.mark.parametrize("status", STATUSES)
def test_ps_knows_every_docker_status(status: str) -> None:
    assert args(f"ps --filter status={status}")["filters"] == {"status": [status]}


# --- images, inspect, start, stats -------------------------------------------------------------------------


def test_images() -> None:
    assert args("images") == {"format": ""}


def test_inspect() -> None:
    assert args("inspect web") == {"name": "web"}
    assert args("inspect 3f2a9c") == {"name": "3f2a9c"}


def test_start() -> None:
    assert args("start web db.1 cache_2") == {"names": ["web", "db.1", "cache_2"]}


def test_stats() -> None:
    plain = {"since": None, "sort": "", "limit": 0}
    assert args("stats") == {"names": [], **plain}
    assert args("stats web db") == {"names": ["web", "db"], **plain}


@pytest.mark.parametrize("name", ["-", "_web", ".web", "we b", "web;ls", "$(id)", "web/x", "é"])
@pytest.mark.parametrize("verb", ["inspect", "start", "stop", "restart", "rm", "logs", "stats"])
def test_container_names_are_checked(verb: str, name: str) -> None:
    quoted = name.replace("'", "")
    assert "not a valid container name or id" in error(f"{verb} -- '{quoted}'")


# --- stop, restart, rm -------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["stop", "restart"])
def test_stop_and_restart(verb: str) -> None:
    assert args(f"{verb} web") == {"names": ["web"], "timeout": None}
    assert args(f"{verb} -t 0 web db") == {"names": ["web", "db"], "timeout": 0}
    assert args(f"{verb} web --time {MAX_GRACE}") == {"names": ["web"], "timeout": MAX_GRACE}


@pytest.mark.parametrize("verb", ["stop", "restart"])
@pytest.mark.parametrize("value", ["-1", "1.5", "ten", "", str(MAX_GRACE + 1)])
def test_stop_and_restart_grace_errors(verb: str, value: str) -> None:
    assert "--time" in error(f"{verb} --time='{value}' web")


def test_rm() -> None:
    assert args("rm web") == {"names": ["web"], "force": False}
    assert args("rm -f web db") == {"names": ["web", "db"], "force": True}
    assert args("rm web --force") == {"names": ["web"], "force": True}


# --- logs --------------------------------------------------------------------------------------------------


def test_logs_defaults() -> None:
    assert args("logs web") == {"name": "web", "tail": DEFAULT_TAIL, "since": None, "timestamps": False}


@pytest.mark.parametrize(
    ("flags", "tail"), [("-n 5", 5), ("--tail 0", 0), ("--tail=all", None), ("-n all", None), ("-n7", 7)]
)
def test_logs_tail(flags: str, tail: int | None) -> None:
    assert args(f"logs {flags} web")["tail"] == tail


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("1d2h3m4s", 93784), ("1h", 3600)],
)
def test_logs_since_durations(value: str, seconds: int) -> None:
    assert args(f"logs --since {value} web")["since"] == {"seconds_ago": seconds, "unix": None}


@pytest.mark.parametrize(
    ("value", "when"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01Z", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:30", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:15", datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
        ("2024-05-01T12:30:15Z", datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
        ("2024-05-01T14:30:15+02:00", datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
        ("2024-05-01T12:30:15.250Z", datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)),
    ],
)
def test_logs_since_times(value: str, when: datetime) -> None:
    assert args(f"logs --since={value} web")["since"] == {"seconds_ago": None, "unix": when.timestamp()}


def test_logs_since_unix_timestamp() -> None:
    assert args("logs --since 1714566615 web")["since"] == {"seconds_ago": None, "unix": 1714566615.0}
    assert args("logs --since 1714566615.5 web")["since"] == {"seconds_ago": None, "unix": 1714566615.5}


def test_logs_timestamps_and_flag_order() -> None:
    expected = {"name": "web", "tail": 10, "since": {"seconds_ago": 300, "unix": None}, "timestamps": True}
    assert args("logs -t -n 10 --since 5m web") == expected
    assert args("logs web --timestamps --since=5m --tail=10") == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("logs -n -1 web", "`-n`"),
        ("logs --tail lots web", "number of lines"),
        ("logs --since yesterday web", "duration"),
        ("logs --since 0s web", "longer than 0s"),
        ("logs --since 1.5h web", "duration"),
        ("logs --since 30m1h web", "duration"),
        ("logs --since 2024-13-01 web", "not a valid date"),
        ("logs --since 2024-05-01T25:00 web", "not a valid date"),
        ("logs web db", "exactly 1 argument"),
    ],
)
def test_logs_errors(text: str, fragment: str) -> None:
    assert fragment in error(text)


# --- help, whoami, jobs (answered by the bot) ------------------------------------------------------------


def context(
    args: Args | None = None,
    allowed: tuple[str, ...] = ALL_VERBS,
    roles: tuple[str, ...] = (),
    jobs: list[dict[str, Any]] | None = None,
) -> LocalContext:
    return LocalContext(
        user_id="U123",
        channel_id="C9",
        args=args or NoArgs(),
        roles=roles,
        allowed_verbs=allowed,
        recent_jobs=lambda: list(jobs or []),
    )


def answer(verb: str, ctx: LocalContext) -> str:
    spec = VERBS[verb]
    assert spec.answer is not None and not spec.queued
    return spec.answer(ctx)


def test_help_args() -> None:
    assert args("help") == {"verb": None}
    assert args("help STOP") == {"verb": "stop"}
    assert args("whoami") == {} and args("jobs") == {}


def test_help_lists_only_allowed_verbs_with_summaries() -> None:
    text = answer("help", context(parse("help").args, allowed=("help", "ps", "logs")))
    for verb in ("help", "ps", "logs"):
        assert f"`{verb}` — {VERBS[verb].summary}" in text
    for verb in ("run", "rm", "stop", "images"):
        assert f"`{verb}`" not in text


def test_help_without_a_role_lists_the_open_verbs_and_says_whom_to_ask() -> None:
    text = answer("help", context(HelpArgs(None), allowed=("help", "whoami")))
    assert "`whoami`" in text and "`ps`" not in text
    assert "no role in this channel: ask an admin" in text
    assert "ask an admin" not in answer("help", context(HelpArgs(None), allowed=("help", "ps")))


def test_help_verb_shows_usage_and_flags() -> None:
    text = answer("help", context(parse("help logs").args))
    assert f"`{VERBS['logs'].usage}`" in text
    assert "`-n, --tail N|all`" in text and "`--since DURATION|TIME`" in text and "`-t, --timestamps`" in text


def test_help_marks_repeatable_flags() -> None:
    text = answer("help", context(HelpArgs("run")))
    assert "`-e, --env K=V` (repeatable)" in text
    assert "`--name NAME` (repeatable)" not in text


def test_help_for_a_verb_the_caller_may_not_run() -> None:
    text = answer("help", context(HelpArgs("rm"), allowed=("help", "ps")))
    assert "may not run `rm`" in text and VERBS["rm"].usage not in text


def test_help_for_an_unknown_verb_suggests() -> None:
    assert "Did you mean `stop`?" in answer("help", context(HelpArgs("stpo")))


WHOAMI_POLICY = """
[rbac.roles.deployer]
inherits = ["operator"]
grants = ["host-mounts"]
[[rbac.bindings]]
role = "deployer"
users = ["U123"]
containers = ["staging-*"]
[[rbac.bindings]]
role = "viewer"
users = ["U123"]
channels = ["C9"]
"""


def test_whoami_shows_each_role_with_its_binding_grants_and_scope() -> None:
    policy = parse_config(tomllib.loads(WHOAMI_POLICY), "d.toml", CATALOG).policy
    ctx = dataclasses.replace(context(roles=("deployer", "viewer"), allowed=("help", "ps", "stop")),
                              policy=policy)
    text = answer("whoami", ctx)
    assert "<@U123>" in text and "`U123`" in text
    assert "• `deployer` (binding #1 (users)) — only containers `staging-*` — grants `host-mounts`" in text
    assert "• `viewer` (binding #2 (users))\n" in text
    assert "`help`, `ps`, `stop`" in text
    elsewhere = answer("whoami", dataclasses.replace(ctx, channel_id="C7"))
    assert "`viewer`" not in elsewhere and "`deployer`" in elsewhere


def test_whoami_without_roles_says_whom_to_ask() -> None:
    text = answer("whoami", context(roles=(), allowed=("help",)))
    assert "no role in this channel.* Ask an admin to bind one to your id `U123`" in text


def test_why_explains_without_running() -> None:
    policy = parse_config(tomllib.loads(WHOAMI_POLICY), "d.toml", CATALOG).policy
    ctx = dataclasses.replace(context(), policy=policy)

    def why(text: str, channel: str = "C9") -> str:
        return answer("why", dataclasses.replace(ctx, args=parse("why " + text).args, channel_id=channel))

    assert why("ps").startswith("✅ `ps`: allowed: deployer allows `ps`")
    assert "Rule: binding #1 (users) → deployer → operator → viewer → allow ps" in why("ps")
    assert why("jobs", channel="C7").startswith("✅")
    assert why("audit").startswith("⛔ `audit`: not allowed: `audit` needs a role that allows it (admin)")
    assert "outside your containers scope (staging-*)" in why("stop prod-db")
    assert "The worker checks the containers again" in why("stop staging-web")
    assert why("stop staging-web").startswith("✅")
    assert "give `--name` matching staging-*" in why("run busybox")
    assert why("run --name staging-x busybox").startswith("✅")
    assert "would not run: unknown flag" in why("ps --bogus")


def job(
    job_id: str, queued_at: float, ended_at: float | None, status: str, text: str = "ps"
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "command_text": text,
        "status": status,
        "queued_at": queued_at,
        "ended_at": ended_at,
        "channel_id": "C9",
    }


def test_jobs_newest_first() -> None:
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
    jobs = [
        job("old1", t0, t0 + 3, "finished"),
        job("new2", t0 + 600, None, "started", "logs web"),
        job("mid3", t0 + 60, t0 + 185, "failed", "stop web"),
    ]
    lines = answer("jobs", context(jobs=jobs)).splitlines()
    assert [line.split("`")[1] for line in lines[1:]] == ["new2", "mid3", "old1"]
    assert "`logs web`" in lines[1] and "*started*" in lines[1] and "took" not in lines[1]
    assert "*failed*" in lines[2] and "took 2m 5s" in lines[2] and "2024-05-01 12:01:00 UTC" in lines[2]
    assert "took 3s" in lines[3] and "<#C9>" in lines[3]


def test_jobs_escapes_command_text() -> None:
    text = answer("jobs", context(jobs=[job("j1", 0, 1, "finished", "run busybox sh -c 'a && b > `x`'")]))
    assert "a &amp;&amp; b &gt; 'x'" in text


def test_jobs_caps_the_list() -> None:
    text = answer("jobs", context(jobs=[job(f"j{i}", float(i), None, "queued") for i in range(25)]))
    assert "`j24`" in text and "`j5`" in text and "`j4`" not in text
    assert "and 5 older" in text


def test_no_recent_jobs() -> None:
    assert "no recent jobs" in answer("jobs", context(jobs=[])).lower()


def test_why_leaves_the_image_of_a_named_container_to_the_worker() -> None:
    toml_text = '[[rbac.bindings]]\nrole = "operator"\nusers = ["U123"]\nimages = ["acme/*"]\n'
    policy = parse_config(tomllib.loads(toml_text), "d.toml", CATALOG).policy
    ctx = dataclasses.replace(context(), policy=policy, args=parse("why stop web").args)
    assert answer("why", ctx).startswith("✅ `stop web`: allowed")
    ctx = dataclasses.replace(ctx, args=parse("why run --name web busybox").args)
    assert "image `busybox` is outside your images scope (acme/*)" in answer("why", ctx)


def test_usage_errors_quote_what_was_typed_as_text() -> None:
    err = UsageError("`<!here>` is not a valid container name or id")
    assert "<!here>" not in messages.usage_error(err, "/docker")
    assert "&lt;!here&gt;" in messages.usage_error(err, "/docker")
