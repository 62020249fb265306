"""Every user-facing string the bot sends (acks, errors, fallbacks), as small pure functions: this package is
the bot's one place for them — general texts here, those of buttons and approvals in ``clicks``, of the
App Home tab in ``home``, all importable from here."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from bot.messages.answer import Answer as Answer
from bot.messages.clicks import (
    approval_already as approval_already,
)
from bot.messages.clicks import (
    approval_decided as approval_decided,
)
from bot.messages.clicks import (
    approval_refused as approval_refused,
)
from bot.messages.clicks import (
    approval_request as approval_request,
)
from bot.messages.clicks import (
    approval_requested as approval_requested,
)
from bot.messages.clicks import (
    cancelled as cancelled,
)
from bot.messages.clicks import (
    confirm_prompt as confirm_prompt,
)
from bot.messages.clicks import (
    confirmed as confirmed,
)
from bot.messages.home import (
    HOME_HEADER as HOME_HEADER,
)
from bot.messages.home import (
    HOME_HOSTS as HOME_HOSTS,
)
from bot.messages.home import (
    HOME_JOBS as HOME_JOBS,
)
from bot.messages.home import (
    HOME_NO_HOSTS as HOME_NO_HOSTS,
)
from bot.messages.home import (
    HOME_NO_JOBS as HOME_NO_JOBS,
)
from bot.messages.home import (
    HOME_ROLES as HOME_ROLES,
)
from bot.messages.home import (
    home_host as home_host,
)
from bot.messages.home import (
    home_intro as home_intro,
)
from bot.messages.home import (
    home_job as home_job,
)
from bot.messages.home import (
    home_may_run as home_may_run,
)
from bot.messages.home import (
    home_no_roles as home_no_roles,
)
from bot.messages.home import (
    home_not_allowed as home_not_allowed,
)
from bot.messages.home import (
    home_role as home_role,
)
from bot.messages.home import (
    home_unavailable as home_unavailable,
)
from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import escape

# The accepted ack's block carries the job id in its block_id, for programs (the console, tests): the
# human text is free to change.
ACCEPTED_BLOCK = "dockbolt-accepted"
PRIVATE_BLOCK = "dockbolt-accepted-private"  # …of a private job's ack: no card will come


def build_context_refused(reason: str, command: str) -> str:
    """A private answer to a `build` whose context the [build] table does not allow; nothing is queued."""
    return (f":no_entry: `{command} build`: {escape(reason)}. Nothing was queued; an admin can allow it "
            "in the config's `[build]` table.")


def usage_error(err: UsageError, command: str) -> str:
    """A private answer to a malformed command: what is wrong, then the verb's usage line.

    The problem quotes what the user typed: escaped, so `<!here>` or `<@U…>` stays text.
    """
    text = f":warning: {escape(str(err))}"
    if err.usage:
        text += f"\nUsage: `{command} {err.usage}`"
    return text


def accepted(job: JobRequest) -> Answer:
    """The private "accepted" note for a queued command (in the ack when it says more, e.g. with an `-e`
    warning; otherwise sent only when the card is late); its block_id names the job (``accepted_job_id``)."""
    return _job_ack(ACCEPTED_BLOCK, job, f":inbox_tray: `{job.command} {job.command_text}` accepted as job "
                    f"`{job.job_id}`{_on(job)} — follow it in the thread.")


def _on(job: JobRequest) -> str:
    return f" on `{escape(job.host)}`" if job.host else ""


def _job_ack(prefix: str, job: JobRequest, text: str) -> Answer:
    """An ack naming its job in its block_id (``prefix:job_id``), for programs to find."""
    return Answer(text, [{"type": "section", "block_id": f"{prefix}:{job.job_id}",
                          "text": {"type": "mrkdwn", "text": text}}])


def accepted_privately(job: JobRequest) -> Answer:
    """The ack of a job whose answer goes to the caller alone (`--private`, ``private_verbs``); its
    block_id (``PRIVATE_BLOCK``: no card will come) names the job for ``accepted_job_id``."""
    return _job_ack(PRIVATE_BLOCK, job, f":lock: `{job.command} {job.command_text}` runs as job "
                    f"`{job.job_id}`{_on(job)}. Only you will see the answer (here; long output as a file in "
                    "a DM from me).")


QUIET = Answer("")  # the ack of a job whose card says it all: Slack shows nothing


def accepted_job_id(ack: Mapping[str, Any] | None) -> str | None:
    """The job id an ack names when it accepted a job (None for any other answer)."""
    for block in (ack or {}).get("blocks") or ():
        prefix, _, job_id = str(block.get("block_id", "")).partition(":")
        if prefix in (ACCEPTED_BLOCK, PRIVATE_BLOCK) and job_id:
            return job_id
    return None


def not_in_channel(command: str) -> str:
    """Told (via response_url) when the bot may not post its job card in this channel."""
    return (f":information_source: I can't post in this channel, so `{command}` results will arrive here "
            "instead of a thread. Invite me (`/invite @dockbolt`) to get job cards and files.")


def queue_unavailable(job_id: str) -> str:
    """Told when the job could not be queued (Redis down)."""
    return (f":x: Job `{job_id}` could not be queued: the job queue (Redis) is unreachable, so nothing will "
            "run. Try again when it is back.")


def worker_lost(job_id: str, silent_for: float) -> str:
    """Told in a job's thread when its worker stopped beating (the reaper found it)."""
    return (f":skull: The worker running job `{job_id}` stopped responding (no heartbeat for "
            f"{silent_for:.0f} s): it probably died. The job did not finish; check what it left behind "
            "(e.g. `ps -a`) before running it again.")


def deploy_lost(job: JobRequest) -> str:
    """A deploy's announcement once its worker died mid-way."""
    return (f":x: `{escape(job.command_text)}` *failed* — the worker running it stopped responding (job "
            f"`{job.job_id}`). If it was switching containers, `rollback` brings the previous version back.")


def internal_error() -> str:
    """The ack when the bot itself failed while handling a command."""
    return ":x: Something went wrong in dockbolt while handling that command; nothing was run. It is logged."


# --- audit (bot/verbs/audit.py); ``filters`` and ``user`` arrive as escaped mrkdwn -----------------------


def _audit_scope(filters: str) -> str:
    return f" for {filters}" if filters else ""


def _audit_entries(count: int) -> str:
    return f"{count:,} audit {'entry' if count == 1 else 'entries'}"


def audit_unavailable() -> str:
    """`audit` when the trail cannot be read (Redis unreachable, or the bot runs without one)."""
    return (":x: The audit trail is unreachable right now (Redis); try again shortly. Every entry is also "
            "in the bot's `dockbolt.audit` log.")


def audit_none(filters: str) -> str:
    """`audit` when no entry matches."""
    return f"No audit entries{_audit_scope(filters)}."


def audit_header(shown: int, more: bool, filters: str) -> str:
    """The first line of `audit`'s answer."""
    older = " (older ones: `--limit N` up to 200, `--since`, or `--export`)" if more else ""
    return f"*Audit trail*{_audit_scope(filters)} — newest first, times in UTC, {shown} shown{older}:"


def audit_exporting(count: int, filters: str) -> str:
    """The ack of `audit --export`; the file follows in the channel."""
    return (f":outbox_tray: Exporting {_audit_entries(count)}{_audit_scope(filters)}… the JSONL file will "
            "appear in this channel.")


def audit_export_comment(user: str, count: int, filters: str) -> str:
    """The comment on the uploaded audit file."""
    return (f"Audit trail export requested by <@{user}>: {_audit_entries(count)}{_audit_scope(filters)}, "
            "oldest first, one JSON object per line.")


# --- The HTTP edge (bot/edge.py): refusals before a command is parsed; nothing was run ---------------


def already_received() -> str:
    """A request seen before (a replay, or Slack's retry): answered, not run again."""
    return ":repeat: Already received that command; it was not run again."


def missing_fields(names: list[str]) -> str:
    """A slash command without the user or channel it comes from."""
    return (f":warning: That command arrived without {' or '.join(f'`{n}`' for n in names)}, so dockbolt "
            "can't tell who sent it or where. Nothing was run.")


def text_too_long(length: int, limit: int) -> str:
    """A slash command whose text is longer than the edge accepts."""
    return f":warning: That command is {length:,} characters long; the limit is {limit:,}. Nothing was run."


def _yours_in_flight(count: int) -> str:
    jobs, are = ("job", "is") if count == 1 else ("jobs", "are")
    return f"{count} {jobs} of yours {are} queued or running"


def slow_down_rate(rate: str, retry_after: float, in_flight: int) -> str:
    """Over the per-user command rate (``rate`` like "20/minute")."""
    wait = max(1, round(retry_after + 0.5))
    return (f":hourglass: Slow down: the command rate limit is {rate} per person; try again in {wait} s. "
            f"{_yours_in_flight(in_flight)}. Nothing was run.")


def slow_down_queue(in_flight: int, limit: int) -> str:
    """Over the per-user share of the queue."""
    return (f":hourglass: Slow down: {_yours_in_flight(in_flight)} (at most {limit} at a time); send it "
            "again once one has finished (`jobs` lists them). Nothing was run.")


def edge_unavailable() -> str:
    """The edge could not reach Redis to check the command (duplicates, rate, queue share)."""
    return ":x: dockbolt can't reach its job queue (Redis) right now; nothing was run. Try again shortly."


# --- secrets typed in chat, and the audit export after the ack ------------------------------------------


def with_env_warning(answer: Answer, keys: list[str]) -> Answer:
    """The accepted ack plus a private note: values typed after `-e` were seen by Slack."""
    names = ", ".join(f"`{escape(k)}`" for k in keys)
    note = (f":warning: The value of {names} was typed in chat, so Slack keeps it in its logs (dockbolt "
            "shows it nowhere and sends it to the worker only inside the signed job). Prefer `-e NAME` "
            "without a value: the worker then takes it from its own environment variable "
            "`DOCKBOLT_SECRET_NAME`.")
    block = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
    return Answer(f"{answer.text}\n{note}", [*(answer.blocks or []), block])


def audit_export_failed(problem: str) -> str:
    """`audit --export` could not upload the file (Redis or Slack said no)."""
    return f":x: The audit export failed: {escape(problem)}"


def no_worker(job_id: str, host: str, fail_after: float) -> str:
    """Told in a job's thread when it waits and no live worker serves its host's queue."""
    return (f":hourglass: No worker is serving `{escape(host)}` right now, so job `{job_id}` waits. It runs "
            f"if one starts within {fail_after / 60:.0f} min (`dockbolt worker` on that host); otherwise it "
            "fails here.")


def unserved_failed(job_id: str, host: str, waited: float) -> str:
    """A queued job failed because its host's workers stayed away."""
    return (f":x: Job `{job_id}` did not run: no worker served `{escape(host)}` for {waited / 60:.0f} min. "
            "It was taken off the queue; send the command again once `hosts` shows a worker there.")


def ago(seconds: float) -> str:
    """"12 s ago", "3 min ago", "2.5 h ago"."""
    return f"{duration(seconds)} ago"


def duration(seconds: float) -> str:
    """"12 s", "15 min", "2.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def host_unserved(host: str, last_seen: float | None) -> str:
    """A command for a host no worker serves now: refused at once, nothing queued."""
    seen = f" (last seen {ago(last_seen)})" if last_seen is not None else ""
    return (f":no_entry: No worker is serving `{escape(host)}`{seen}, so nothing was queued. Start "
            "`dockbolt worker` there, or pick another host (`hosts` lists them).")


def unknown_host(host: str, known: Sequence[str]) -> str:
    """``@NAME`` for a host no worker ever registered."""
    close = difflib.get_close_matches(host, list(known), n=1, cutoff=0.6)
    hint = f" Did you mean `@{close[0]}`?" if close else ""
    listed = ", ".join(f"`{escape(k)}`" for k in known) or "none has registered yet"
    return f":no_entry: Unknown Docker host `{escape(host)}`.{hint} Hosts: {listed}. Nothing was queued."


def no_hosts(known: Sequence[str]) -> str:
    """No host has a live worker (and none was named)."""
    if not known:
        return (":no_entry: No Docker host is served: no worker has registered yet. Start `dockbolt worker` "
                "with access to a Docker engine; nothing was queued.")
    return (f":no_entry: No worker is serving any Docker host ({', '.join(f'`{escape(k)}`' for k in known)} "
            "registered before); nothing was queued. Start `dockbolt worker` on one of them.")


def which_host(live: Sequence[str], verb: str, fans_out: bool) -> str:
    """Several live hosts and no `@NAME` (and no default for this channel)."""
    listed = ", ".join(f"`{escape(h)}`" for h in live)
    every = f", or `@all {verb}` for every host" if fans_out else ""
    return (f":question: Which host? {len(live)} Docker hosts are live: {listed}. Say it first, e.g. "
            f"`@{escape(live[0])} {verb}`{every}. Nothing was queued (an admin can give this channel a "
            "default host: `[[hosts.channels]]`).")
