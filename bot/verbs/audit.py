"""`audit`: who was allowed or denied what, and how jobs ended — the audit trail. Answered by the bot.

`audit [--user U] [--verb V] [--since 1d] [--limit N]` lists entries newest first; `audit --export` says
how many entries match and the bot's lazy listener then uploads them as a JSONL file
(``export_to_slack``). Admins only by default: the trail names everyone's commands.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import RedisError
from slack_sdk import WebClient

from bot import messages
from bot.suggest import closest_verbs
from bot.verbs.base import Flag, LocalContext, VerbSpec
from bot.verbs.values import duration, whole_number
from dockbolt.core.args import Args
from dockbolt.core.audit import DEFAULT_MAXLEN, AuditEvent, AuditLog
from dockbolt.core.mrkdwn import code, escape

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
# Longest command text shown per entry (the export has all of it).
_TEXT_SHOWN = 60
# A user id as Slack writes it (U… or, on Enterprise Grid, W…), alone or as a mention <@U…|name>.
_USER_RE = re.compile(r"^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|@?([UW][A-Z0-9]+))\Z", re.IGNORECASE)


@dataclass(frozen=True)
class AuditArgs(Args):
    """Filters (None = any), how many entries to show (None: DEFAULT_LIMIT; an export takes all), export."""

    user: str | None = None
    verb: str | None = None
    since_seconds: int | None = None
    limit: int | None = None
    export: bool = False

    def since(self, now: float) -> float | None:
        """The unix time the entries start at, or None for the whole trail."""
        return None if self.since_seconds is None else now - self.since_seconds


def parse_user(raw: str) -> str:
    """A Slack user id, typed (`U0123ABCD`) or as Slack sends a mention (`<@U0123ABCD|name>`)."""
    m = _USER_RE.match(raw.strip())
    if not m:
        raise ValueError("must be a Slack user id like `U0123ABCD` or a mention of the user")
    return (m.group(1) or m.group(2)).upper()


def parse_verb(raw: str) -> str:
    """A command name dockbolt knows."""
    from bot.verbs import VERBS  # the registry imports this module

    verb = raw.lower()
    if verb not in VERBS:
        close = closest_verbs(verb, VERBS)
        hint = f"; did you mean {' or '.join(code(v) for v in close)}?" if close else " (see `help`)"
        raise ValueError(f"is not a dockbolt command{hint}")
    return verb


def parse_limit(raw: str) -> int:
    """How many entries to show: 1 to MAX_LIMIT."""
    n = whole_number(raw)
    if not 1 <= n <= MAX_LIMIT:
        raise ValueError(f"must be between 1 and {MAX_LIMIT}")
    return n


def build(flags: dict[str, Any], positionals: list[str]) -> AuditArgs:
    """Build audit args from the parsed flags."""
    return AuditArgs(user=flags["user"], verb=flags["verb"], since_seconds=flags["since"],
                     limit=flags["limit"], export=flags["export"])


def _span(seconds: int) -> str:
    """Seconds as the shortest duration spelling (`1d`, `1h30m`)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n)


def describe_filters(args: AuditArgs) -> str:
    """The filters in force, as escaped mrkdwn ("" when none)."""
    parts = []
    if args.user:
        parts.append(f"<@{escape(args.user)}>")
    if args.verb:
        parts.append(code(escape(args.verb)))
    if args.since_seconds is not None:
        parts.append(f"the last {_span(args.since_seconds)}")
    return ", ".join(parts)


def _outcome(event: AuditEvent) -> str:
    if event.kind == "decision":
        verdict = "*allowed*" if event.allowed else "*denied*"
        return f"{verdict} by {code(escape(event.rule))}" if event.rule else verdict
    text = f"job *{escape(event.outcome or 'ended')}*"
    if event.duration_s is not None:
        text += f" in {event.duration_s:.1f} s"
    return text + (f" ({escape(event.detail)})" if event.detail else "")


def entry_line(event: AuditEvent) -> str:
    """One entry: time (UTC), who, what, where, the verdict or outcome and the rule, the job."""
    when = datetime.fromtimestamp(event.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
    what = event.text if len(event.text) <= _TEXT_SHOWN else event.text[: _TEXT_SHOWN - 1] + "…"
    parts = [f"• {when} <@{escape(event.user_id)}> {code(escape(what or event.verb))}"]
    if event.channel_id:
        parts.append(f"in <#{escape(event.channel_id)}>")
    parts.append(f"— {_outcome(event)}")
    if event.job_id:
        parts.append(f"· job {code(escape(event.job_id))}")
    return " ".join(parts)


def answer(ctx: LocalContext) -> str:
    """List the matching entries newest first, or (``--export``) say how many the file will hold."""
    args = ctx.args if isinstance(ctx.args, AuditArgs) else AuditArgs()
    if ctx.audit is None:
        return messages.audit_unavailable()
    filters, since = describe_filters(args), args.since(time.time())
    try:
        if args.export:
            count = ctx.audit.count(user=args.user, verb=args.verb, since=since, limit=export_limit(args))
            return messages.audit_exporting(count, filters) if count else messages.audit_none(filters)
        limit = args.limit or DEFAULT_LIMIT
        # One more than shown tells whether there are older entries.
        events = ctx.audit.query(user=args.user, verb=args.verb, since=since, limit=limit + 1)
    except RedisError:
        return messages.audit_unavailable()
    if not events:
        return messages.audit_none(filters)
    shown = events[:limit]
    return "\n".join([messages.audit_header(len(shown), len(events) > limit, filters),
                      *(entry_line(event) for event in shown)])


def export_limit(args: AuditArgs) -> int:
    """How many entries an export holds: `--limit` when given, else the whole (capped) trail."""
    return args.limit or DEFAULT_MAXLEN


def export_to_slack(client: WebClient, log: AuditLog, channel_id: str, user_id: str, args: AuditArgs) -> None:
    """Upload the matching entries to the channel as `dockbolt-audit-<date>.jsonl` (oldest first).

    Uploads nothing when no entry matches (the ack already said so). Raises what the calls raise:
    ``redis.RedisError`` when the trail is unreachable, ``slack_sdk.errors.SlackApiError`` when Slack
    refuses the upload (e.g. ``not_in_channel``).
    """
    now = time.time()
    content = log.export_jsonl(user=args.user, verb=args.verb, since=args.since(now),
                               limit=export_limit(args))
    if not content:
        return
    date = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    client.files_upload_v2(
        channel=channel_id,
        content=content,
        filename=f"dockbolt-audit-{date}.jsonl",
        initial_comment=messages.audit_export_comment(escape(user_id), content.count("\n"),
                                                      describe_filters(args)),
    )


SPECS = (
    VerbSpec(
        name="audit",
        summary="Show the audit trail: who was allowed or denied what, and how jobs ended",
        usage="audit [--user USER] [--verb VERB] [--since DURATION] [--limit N] [--export]",
        default_role="admin",
        flags=(
            Flag(("--user",), "user", "value", "USER", parse_user),
            Flag(("--verb",), "verb", "value", "VERB", parse_verb),
            Flag(("--since",), "since", "value", "DURATION", duration),
            Flag(("--limit",), "limit", "value", "N", parse_limit),
            Flag(("--export",), "export"),
        ),
        build=build,
        answer=answer,
    ),
)
