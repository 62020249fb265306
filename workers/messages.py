"""Every user-facing text the worker writes into Slack: summaries, results, how a job ended. Pure functions.

Tables and cells as the Docker CLI prints them live in ``workers.formatting``. Summary texts may quote
Docker's words verbatim: the reporter escapes them; the texts about how a job ended escape their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockbolt.core.contract import JobRequest
from dockbolt.core.deploys import DEPLOY_ICONS
from dockbolt.core.mrkdwn import code, code_block, escape
from dockbolt.core.stathistory import Sample
from workers.docker_port import RunResult
from workers.formatting import bytes_size, short_id

# --- results -------------------------------------------------------------------------------------------


def count_noun(n: int, noun: str) -> str:
    """ "1 container", "3 containers"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ps_summary(n: int, show_all: bool, hidden: int = 0, statuses: tuple[str, ...] = ()) -> str:
    """The line above the ps table: what it holds (``statuses``: a status filter; ``hidden``: containers
    the caller may not see)."""
    noun = "container" if show_all or statuses else "running container"
    shown = f" ({', '.join(statuses)})" if statuses else ""
    text = f"{count_noun(n, noun) if n else f'No {noun}s'}{shown}."
    if hidden:
        text += (f" ({count_noun(hidden, 'other')} not shown: not managed by dockbolt or outside your scope; "
                 "see `whoami`.)")
    return text


def images_summary(n: int) -> str:
    """The one-line summary above the images table."""
    return f"{count_noun(n, 'image')}." if n else "No images."


def inspect_summary(name: str, kind: str) -> str:
    """The line above an inspect document."""
    return f"Inspect of {kind} {code(name)} (environment values, and secrets in args and labels, masked)."


def run_done(result: RunResult, image: str) -> str:
    """What ``run`` reports once the container is started."""
    return f"Started container {code(result.name)} ({code(short_id(result.id))}) from {code(image)}."


def per_name_result(past: str, done: Sequence[str], failed: Sequence[tuple[str, str]]) -> str:
    """Result of a multi-name verb: who succeeded, and Docker's error for each failure."""
    lines: list[str] = []
    if done:
        lines.append(f"{past} {', '.join(code(n) for n in done)}.")
    if failed:
        lines.append(f"Failed for {count_noun(len(failed), 'container')}:")
        lines += [docker_error_line(name, err) for name, err in failed]
    return "\n".join(lines)


def docker_error_line(name: str, error: str) -> str:
    """One failure line: the target and Docker's own explanation."""
    return f"• {code(name)}: {error}"


def logs_summary(name: str, lines: int, truncated: bool) -> str:
    """The line above a log body."""
    if lines == 0:
        return f"No log output from {code(name)}."
    note = " (older output cut: only the newest part is shown)" if truncated else ""
    return f"Logs of {code(name)}: {count_noun(lines, 'line')}{note}."


def stats_summary(n: int, failed: Sequence[tuple[str, str]]) -> str:
    """The lines above a stats table, with Docker's error for each container that failed."""
    head = f"Stats for {count_noun(n, 'container')} (one sample each)." if n else "No stats."
    if not failed:
        return head
    return "\n".join(
        [
            head,
            f"Failed for {count_noun(len(failed), 'container')}:",
            *(docker_error_line(name, err) for name, err in failed),
        ]
    )


def safe_filename(name: str, suffix: str) -> str:
    """A file name built from a container name (anything odd becomes "_")."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "output"
    return f"{stem}{suffix}"


# --- how a job ended, when not with its reply ------------------------------------------------------------
# These texts are posted as they are: anything quoted from Docker or a payload is escaped here.


def timed_out(job: JobRequest, limit: str) -> str:
    """Told when a job ran past its verb's timeout."""
    return (f":alarm_clock: Job `{job.job_id}` timed out: `{job.verb}` may run for at most {limit} s. "
            "Anything it started in Docker was left as it was.")


def waiting_for(earlier: str) -> str:
    """Shown on the card while the job waits for the user's earlier command in the same channel."""
    return f"waiting for job {earlier} (your earlier command here) to finish"


def timed_out_waiting(job: JobRequest, earlier: str, limit: str) -> str:
    """Told when a job's timeout passed while it still waited for an earlier command of the user's."""
    return (f":alarm_clock: Job `{job.job_id}` did not start: your earlier command here (job `{earlier}`) "
            f"was still running when this one's {limit} s were up. Nothing was done; send it again.")


def crashed(job: JobRequest) -> str:
    """Told when a job failed with a bug (the traceback is in the worker's log, not in Slack)."""
    return f":x: Job `{job.job_id}` failed with an internal error; the details are in the worker's log."


def unknown_verb(verb: str) -> str:
    """Told when the bot queued a verb this worker has no handler for."""
    return f":x: This worker does not know {code(verb)}; it may be older than the bot."


def bad_args(job: JobRequest, problem: str) -> str:
    """Told when a job's args do not fit the verb's args type."""
    return (f":x: This worker cannot accept the arguments of {code(job.verb)} in job `{job.job_id}` "
            f"({escape(problem)}); the bot and the worker may be different versions.")


def docker_unreachable(reason: str) -> str:
    """Told when the worker cannot reach its Docker engine."""
    return f":x: The Docker engine is unreachable from this worker: {escape(reason)}"


def docker_said(error: str) -> str:
    """Docker's own words for a failed request, escaped so "<none>" or "a & b" cannot become markup."""
    return f":x: {escape(error)}"


# --- run guardrails: what the worker refuses before creating a container ---------------------------------
# Raised as RunRefused (a UserError): the runner posts them through docker_said, which escapes them.


def host_path_refused(flag: str, real: str | None, reason: str) -> str:
    """Told when a bind source needs more than its spelling showed, once the worker's host resolved it
    (``real``: where it leads; None when it is the path as spelled, refused by this worker's own check)."""
    if real is None:
        return f"Refused {code(flag)}: on this host, {reason}. Nothing was created."
    return (f"Refused {code(flag)}: on this host the path leads to {code(real)}, and {reason}. "
            "Nothing was created; mount the real path, so that the grant check sees it.")


def secrets_missing(variables: Sequence[str]) -> str:
    """Told when a bare `-e NAME` names a secret the worker does not have."""
    names = ", ".join(code(v) for v in variables)
    return (f"This worker has no {names} in its environment: a bare `-e NAME` takes its value from the "
            "worker's `DOCKBOLT_SECRET_NAME`. Set it where the worker runs, or write `-e NAME=VALUE`. "
            "Nothing was created.")


# --- authorization, re-checked by the worker right before acting ---


def not_allowed(reason: str) -> str:
    """The worker's own check refused the job (the targets as the engine sees them, the same policy)."""
    return (f":no_entry: {escape(reason)}\n"
            "_Checked by the worker against the containers as they are now; nothing was changed._")


# --- logs whose stream the engine did not end cleanly ---------------------------------------------------


def logs_cut_short(name: str, lines: int, truncated: bool, reason: str) -> str:
    """The line above what arrived of a log stream that stopped before the engine's end (the job fails)."""
    if lines == 0:
        return (f":warning: Logs of {code(name)}: the log stream was cut short before a whole line "
                f"arrived: {escape(reason)}.")
    older = " (older output cut too: only the newest part of what arrived is shown)" if truncated else ""
    return (f":warning: Logs of {code(name)}: the log stream was cut short after "
            f"{count_noun(lines, 'line')}{older}: {escape(reason)}. What arrived is below; "
            "the rest of the log was not received.")


# --- build --------------------------------------------------------------------------------------------

def built(tag: str, image_id: str, steps: int, lines: int) -> str:
    """A finished build."""
    return (f":white_check_mark: Built {code(tag)} (image {code(short_id(image_id))}) in {steps} steps; "
            f"the builder printed {lines:,} lines.")


def build_failed(tag: str, step: str, error: str) -> str:
    """A build the builder refused: the failing step and its error (the log, whose last lines show what
    the step printed, follows: inline, or as a file with those lines as its preview)."""
    where = f" at step {code(step)}" if step else ""
    return f":x: The build of {code(tag)} failed{where}: {error}"


# --- deploy -------------------------------------------------------------------------------------------

def deploy_summary(app: str, verb: str, outcome: str, image: str, phases: dict[str, float],
                   reason: str) -> str:
    """The job's reply: how it ended, the phases' durations, why it did not succeed."""
    took = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
    head = f"{DEPLOY_ICONS.get(outcome, '')} {verb} of {code(app)} {outcome}: {code(image or '?')}"
    return head + (f" ({took})" if took else "") + (f"\n{reason}" if reason else "")


def deploy_detail(outcome: str, reason: str) -> str:
    """What the final card says next to its status: the outcome, and why when it is not a success."""
    first = reason.splitlines()[0][:200] if reason else ""
    return outcome + (f": {first}" if first and outcome != "succeeded" else "")


def nothing_to_roll_back(app: str) -> str:
    """A rollback with no earlier good deploy to go back to."""
    return (f"{code(app)} has no earlier successful deploy of another image to go back to "
            "(see `deploys " + app + "`).")


def deploy_start_failed(error: str) -> str:
    """The new container did not start: Docker's words."""
    return f"the new container did not start: {error}"


def health_exited(exit_code: object, error: str) -> str:
    """The new container stopped while being checked."""
    said = f": {error}" if error else ""
    return f"the new container exited (code {exit_code}){said} before it was healthy"


def health_check_said(what: str, output: str) -> str:
    """A health check that reported the container unhealthy."""
    return f"{what} reported the new container unhealthy" + (f": {output}" if output else "")


def health_timed_out(what: str, seconds: int, output: str) -> str:
    """A health check that never passed within its timeout."""
    last = output.strip().splitlines()[-1][:300] if output.strip() else ""
    return (f"health check {code(what)} did not pass within {seconds} s"
            + (f" (last said: {last})" if last else ""))


# --- container alerts (the watcher) ---------------------------------------------------------------------

ALERT_ICONS = {"crash": ":red_circle:", "loop": ":repeat:", "oom": ":boom:", "unhealthy": ":warning:",
               "resolved": ":white_check_mark:"}


def _about(name: str, image: str, host: str) -> str:
    return f"{code(name)} ({code(image)}) on {code(host)}"


NOT_QUOTED = ("not quoted: dockbolt does not manage this container (`[policy] read_unmanaged` lets chat "
              "read every container)")


def _quoted(title: str, withheld: str, text: str | None, *, empty: str) -> str:
    """What a container said, as a code block under ``title``; why not, when it may not be quoted (None);
    ``empty`` when it said nothing."""
    if text is None:
        return f"\n{withheld} {NOT_QUOTED}."
    return f"\n{title}:\n{code_block(text)}" if text.strip() else empty


def alert_exited(name: str, image: str, host: str, exit_code: int, ran: str, logs: str | None) -> str:
    """A container exited with a non-zero code: what, for how long, and its last log lines (None: not
    quoted, chat may not read them)."""
    tail = _quoted("Last log lines", "Log lines", logs, empty="\n(no log output)")
    return (f"{ALERT_ICONS['crash']} *exited* with code *{exit_code}*: {_about(name, image, host)} "
            f"after running {ran}.{tail}")


def alert_loop(name: str, image: str, host: str, exits: int, window: int, exit_code: int) -> str:
    """A container restarting over and over: one alert, its count edited in place."""
    return (f"{ALERT_ICONS['loop']} *restart loop*: {_about(name, image, host)} exited {exits} times in "
            f"{window // 60 or 1} min (last exit code {exit_code}). Updated in place while it lasts.")


def alert_oom(name: str, image: str, host: str, limit: float, peak: float) -> str:
    """A container killed for running out of memory: its limit and the most it was seen using."""
    shown = bytes_size(limit) if limit else "none (the host's memory)"
    seen = bytes_size(peak) if peak else "not sampled yet"
    return (f"{ALERT_ICONS['oom']} *OOM-killed*: {_about(name, image, host)}. Memory limit {shown}; "
            f"peak usage seen {seen}.")


def alert_unhealthy(name: str, image: str, host: str, streak: int, output: str | None) -> str:
    """A container's health check failing (``output``: its last words; None: not quoted)."""
    said = _quoted("Last check said", "The check's output is", output, empty="")
    return (f"{ALERT_ICONS['unhealthy']} *unhealthy*: {_about(name, image, host)} "
            f"({count_noun(streak, 'failed check')} in a row).{said}")


def alert_resolved(text: str, after: str) -> str:
    """The incident's first message once it is over (struck through, with how long it lasted)."""
    first, _, rest = text.partition("\n")
    return f"{ALERT_ICONS['resolved']} *resolved* after {after} — ~{first}~" + (f"\n{rest}" if rest else "")


def alert_recovered(name: str, after: str) -> str:
    """Said in the incident's thread when the container is healthy again."""
    return f"{ALERT_ICONS['resolved']} {code(name)} is healthy again (after {after})."


def alert_again(name: str, what: str) -> str:
    """Said in the incident's thread when the same thing happens again within the cooldown."""
    return f"{code(name)}: {what} again."


# --- stats (where the numbers came from, rankings, charts) ---------------------------------------------

MIB = 1024.0 * 1024.0


def stats_head(n: int, *, age: float | None, sort: str = "", limit: int = 0) -> str:
    """The line above the table: how many, from where (``age`` of the watcher's samples; None: live)."""
    if not n:
        return "No stats."
    source = "one sample each" if age is None else f"from the watcher's samples, {age:.0f} s old"
    text = f"Stats for {count_noun(n, 'container')} ({source})."
    return f"{text} {stats_order_note(sort, limit)}" if sort else text


def stats_order_note(sort: str, limit: int) -> str:
    """How a ranking is ordered and cut."""
    return f"Heaviest first by {'CPU' if sort == 'cpu' else 'memory'} ({f'top {limit}' if limit else 'all'})."


def stats_chart_title(name: str, since: int) -> str:
    """The chart's title: the container and the range."""
    return f"{name} — CPU and memory, last {_span(since)} (UTC)"


def stats_chart_text(name: str, since: int, samples: Sequence[Sample]) -> str:
    """The message above the chart: min/avg/max of CPU % and memory over the range."""
    cpu = [s.cpu for s in samples]
    mem = [s.mem / MIB for s in samples]
    return (f"`{name}`, last {_span(since)}: {len(samples):,} points.\n"
            f"CPU %: min {min(cpu):.2f}, avg {sum(cpu) / len(cpu):.2f}, max {max(cpu):.2f}\n"
            f"memory (MiB): min {min(mem):.1f}, avg {sum(mem) / len(mem):.1f}, max {max(mem):.1f}")


def stats_no_history(name: str, since: int, watched: bool) -> str:
    """Why there is no chart."""
    if not watched:
        return ("No stats history on this host: no watcher has recorded any (`dockbolt watch`, started by "
                "`dockbolt up`).")
    return f"No stats history for `{name}` in the last {_span(since)}: the watcher has no sample of it yet."


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"



# --- Swarm services (`service …`, `node ls`) -------------------------------------------------------------
SERVICE_REFUSED = {
    "reach": "is not managed by dockbolt or is outside your scope",
    "prefix": "is only an id prefix: give the service's name or at least 12 characters of its id",
    "protected": "is protected (`dockbolt.protected=true`): it cannot be changed from chat",
    "unmanaged": "is not managed by dockbolt: chat only reads such services (`[policy] read_unmanaged`)",
}
ROLLOUT_WORDS = {"completed": "rolled out", "rollback_completed": "rolled back by Swarm",
                 "": "not started yet", "unchanged": "nothing to roll out (its tasks did not change)"}


def listed(n: int, noun: str, hidden: int = 0) -> str:
    """The line above a Swarm table (``hidden``: rows the caller may not see)."""
    text = f"{count_noun(n, noun)}." if n else f"No {noun}s."
    return text + (f" ({count_noun(hidden, 'other')} not shown: not managed by dockbolt or outside your "
                   "scope; see `whoami`.)" if hidden else "")


def replicas(name: str, running: int, desired: int | None, done: str = "") -> str:
    """`NAME`: running/desired (and whether Swarm converged), after create, scale and ps."""
    converged = desired is None or running == desired
    return f"{done}{code(name)}: {running}/{running if desired is None else desired} running" + (
        " (converged)." if converged else " (not converged yet: see its tasks).")


def service_not_converged(name: str, errors: str) -> str:
    """A new service whose tasks did not all start (Swarm's task errors quoted)."""
    return f"the service {code(name)} did not converge" + (f": {errors}" if errors else "")


def service_rollout(name: str, verb: str, state: str, message: str, image: str) -> str:
    """How an update or a rollback of a service ended, Swarm's own message quoted."""
    word = "rolled back" if (verb, state) == ("rollback", "rollback_completed") else ROLLOUT_WORDS.get(
        state, state.replace("_", " "))
    return f"{verb.capitalize()} of {code(name)}: {word}; it runs {code(image)}." + (
        f"\n> {message}" if message else "")
