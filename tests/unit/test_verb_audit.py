"""`audit`: its flags, the answer it renders from a real audit trail, and the JSONL export to Slack."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from slack_sdk import WebClient

from bot.parsing import parse
from bot.verbs import QUEUED_VERBS, VERBS
from bot.verbs.audit import MAX_LIMIT, AuditArgs, export_to_slack
from bot.verbs.base import LocalContext
from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.audit import STREAM, AuditEvent, AuditLog
from dockbolt.core.errors import UsageError

TOKEN = "xoxb-audit-test"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def audit(redis_url: str) -> AuditLog:
    return AuditLog(Redis.from_url(redis_url))


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


def args(text: str) -> dict[str, Any]:
    cmd = parse(text)
    assert isinstance(cmd.args, AuditArgs)
    assert AuditArgs.from_dict(json.loads(json.dumps(cmd.args.to_dict()))) == cmd.args
    return cmd.args.to_dict()


def error(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.usage == VERBS["audit"].usage
    return str(info.value)


def answer(text: str, audit: AuditLog | None) -> str:
    spec = VERBS["audit"]
    assert spec.answer is not None
    ctx = LocalContext(user_id="UADMIN", channel_id="C9", args=parse(text).args, roles=("admin",),
                       allowed_verbs=tuple(VERBS), recent_jobs=list, audit=audit)
    return spec.answer(ctx)


def decision(user: str = "U1", verb: str = "stop", allowed: bool = True, n: int = 0,
             **kw: Any) -> AuditEvent:
    rule = ("binding #1 (users) → operator → allow stop" if allowed
            else f"deny by default: none of viewer allows {verb}")
    fields: dict[str, Any] = {"kind": "decision", "user_id": user, "channel_id": "C1", "verb": verb,
                              "text": f"{verb} web{n}", "allowed": allowed, "rule": rule, "ts": T0 + n}
    return AuditEvent(**{**fields, **kw})


def job(n: int, outcome: str, duration: float, detail: str = "") -> AuditEvent:
    return AuditEvent(kind="job", user_id="U1", channel_id="C1", verb="stop", job_id=f"job{n}",
                      outcome=outcome, duration_s=duration, detail=detail, ts=T0 + n)


# --- the spec and its flags ---------------------------------------------------------------------------------


def test_audit_is_an_admin_verb_answered_by_the_bot() -> None:
    spec = VERBS["audit"]
    assert spec.default_role == "admin" and not spec.queued and "audit" not in QUEUED_VERBS


def test_defaults() -> None:
    assert args("audit") == {"user": None, "verb": None, "since_seconds": None, "limit": None,
                             "export": False}


@pytest.mark.parametrize(
    ("typed", "user"),
    [("U0123ABCD", "U0123ABCD"), ("u0123abcd", "U0123ABCD"), ("W0GRID", "W0GRID"), ("@U42", "U42"),
     ("<@U0123ABCD>", "U0123ABCD"), ("<@U0123ABCD|alice>", "U0123ABCD"),
     # Slack sends `<` and `>` as entities; the parser decodes them before flags are read.
     ("&lt;@U0123ABCD|alice&gt;", "U0123ABCD")],
)
def test_user_as_an_id_or_a_mention(typed: str, user: str) -> None:
    assert args(f"audit --user {typed}")["user"] == user


def test_all_flags() -> None:
    assert args("audit --user U1 --verb STOP --since 1h30m --limit 5 --export") == {
        "user": "U1", "verb": "stop", "since_seconds": 5400, "limit": 5, "export": True}
    assert args("audit --since=1d")["since_seconds"] == 86400
    assert args(f"audit --limit {MAX_LIMIT}")["limit"] == MAX_LIMIT


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("audit --user alice", "Slack user id"),
        ("audit --user <#C123|general>", "Slack user id"),
        ("audit --verb stpo", "did you mean `stop`?"),
        ("audit --verb nosuch", "not a dockbolt command"),
        ("audit --since yesterday", "duration"),
        ("audit --since 0s", "duration"),
        ("audit --limit 0", f"between 1 and {MAX_LIMIT}"),
        ("audit --limit 201", f"between 1 and {MAX_LIMIT}"),
        ("audit --limit many", "whole number"),
        ("audit U1", "takes no arguments"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    assert fragment in error(text)


# --- the answer -----------------------------------------------------------------------------------------


def test_entries_newest_first_with_verdict_rule_outcome_and_job(audit: AuditLog) -> None:
    audit.record(decision(n=0, job_id="job0"))
    audit.record(job(1, "done", 1.25))
    audit.record(decision("U2", "rm", allowed=False, n=2))
    audit.record(job(3, "failed", 0.5, "Docker unreachable"))
    lines = answer("audit", audit).splitlines()
    assert lines[0] == "*Audit trail* — newest first, times in UTC, 4 shown:"
    assert lines[1] == ("• 2024-05-01 12:00:03 <@U1> `stop` in <#C1> — job *failed* in 0.5 s "
                        "(Docker unreachable) · job `job3`")
    assert lines[2] == ("• 2024-05-01 12:00:02 <@U2> `rm web2` in <#C1> — *denied* by "
                        "`deny by default: none of viewer allows rm`")
    assert lines[3] == "• 2024-05-01 12:00:01 <@U1> `stop` in <#C1> — job *done* in 1.2 s · job `job1`"
    assert lines[4] == ("• 2024-05-01 12:00:00 <@U1> `stop web0` in <#C1> — *allowed* by "
                        "`binding #1 (users) → operator → allow stop` · job `job0`")


def test_filters_are_applied_and_named(audit: AuditLog) -> None:
    for n, (user, verb) in enumerate([("U1", "stop"), ("U2", "stop"), ("U1", "rm"), ("U1", "stop")]):
        audit.record(decision(user, verb, n=n))
    text = answer("audit --user <@U1|alice> --verb stop", audit)
    assert text.splitlines()[0] == "*Audit trail* for <@U1>, `stop` — newest first, times in UTC, 2 shown:"
    assert [line.split("`")[1] for line in text.splitlines()[1:]] == ["stop web3", "stop web0"]
    assert answer("audit --user U3", audit) == "No audit entries for <@U3>."


def test_since(audit: AuditLog, redis_url: str) -> None:
    old = decision(n=0, ts=time.time() - 3 * 86400)
    Redis.from_url(redis_url).xadd(STREAM, {"u": old.user_id, "v": old.verb, "e": old.to_json()},
                                   id=f"{int(old.ts * 1000)}-0")
    audit.record(decision(n=1, ts=time.time()))
    text = answer("audit --since 1d", audit)
    assert "for the last 1d" in text and "`stop web1`" in text and "`stop web0`" not in text
    assert "`stop web0`" in answer("audit --since 4d", audit)
    assert "the last 1h30m" in answer("audit --since 90m", audit)


def test_default_limit_and_more(audit: AuditLog) -> None:
    for n in range(25):
        audit.record(decision(n=n))
    text = answer("audit", audit)
    assert "20 shown (older ones:" in text and len(text.splitlines()) == 21
    assert "`stop web24`" in text and "`stop web5`" in text and "`stop web4`" not in text
    assert len(answer("audit --limit 3", audit).splitlines()) == 4
    assert "older ones" not in answer("audit --limit 25", audit)


def test_user_text_is_escaped_and_long_commands_shortened(audit: AuditLog) -> None:
    audit.record(decision(text="run busybox sh -c 'echo <!channel> && `id`'", rule="a <b> & `c`"))
    audit.record(decision(n=1, text="run " + "x" * 100))
    text = answer("audit", audit)
    assert "&lt;!channel&gt; &amp;&amp; 'id'" in text and "<!channel>" not in text
    assert "`a &lt;b&gt; &amp; 'c'`" in text
    assert "x" * 55 + "…`" in text and "x" * 60 not in text


def test_export_says_how_many_entries_the_file_will_hold(audit: AuditLog) -> None:
    for n in range(3):
        audit.record(decision("U1" if n else "U2", n=n))
    assert answer("audit --export", audit).startswith(":outbox_tray: Exporting 3 audit entries…")
    assert "Exporting 1 audit entry for <@U2>…" in answer("audit --export --user U2", audit)
    assert "Exporting 2 audit entries" in answer("audit --export --limit 2", audit)
    assert answer("audit --export --user U9", audit) == "No audit entries for <@U9>."


def test_without_a_reachable_trail(tmp_path: Path) -> None:
    assert "unreachable" in answer("audit", None)
    down = AuditLog(Redis(unix_socket_path=str(tmp_path / "none.sock"), retry=Retry(NoBackoff(), 0)))
    assert "unreachable" in answer("audit", down)
    assert "unreachable" in answer("audit --export", down)


# --- the export, through the Slack stand-in ------------------------------------------------------------


def test_export_uploads_jsonl_to_the_channel(audit: AuditLog, standin: SlackStandIn) -> None:
    events = [decision("U1" if n % 2 else "U2", n=n) for n in range(5)]
    for ev in events:
        audit.record(ev)
    client = WebClient(token=TOKEN, base_url=standin.base_url)
    export_to_slack(client, audit, "C9", "UADMIN", AuditArgs(user="U1", verb="stop"))
    (uploaded,) = standin.files
    assert uploaded.channel == "C9"
    assert re.fullmatch(r"dockbolt-audit-\d{4}-\d{2}-\d{2}\.jsonl", uploaded.name)
    assert [AuditEvent.from_json(line) for line in uploaded.text.splitlines()] == [events[1], events[3]]
    assert uploaded.text.endswith("\n")
    assert uploaded.initial_comment is not None
    assert "<@UADMIN>" in uploaded.initial_comment
    assert "2 audit entries for <@U1>, `stop`" in uploaded.initial_comment


def test_export_of_everything_and_of_nothing(audit: AuditLog, standin: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=standin.base_url)
    export_to_slack(client, audit, "C9", "UADMIN", AuditArgs(user="U1"))
    assert standin.files == [] and standin.calls_to("files.getUploadURLExternal") == []
    for n in range(250):
        audit.record(decision(n=n))
    export_to_slack(client, audit, "C9", "UADMIN", AuditArgs())
    (uploaded,) = standin.files
    lines = uploaded.text.splitlines()
    assert len(lines) == 250 and json.loads(lines[0])["text"] == "stop web0"
