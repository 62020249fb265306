"""Every user-facing text the worker produces: CLI-like tables, inspect JSON, results. Pure functions.

Tables reproduce the Docker CLI's layout (Go ``text/tabwriter`` with minwidth 10, padding 3) and its
cell formatting (docker/cli ``formatter`` and go-units), so a table reads like the terminal output users
know. Texts may contain Docker's words verbatim; escaping for Slack is the reporter's job.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dockbolt.core.contract import JobRequest
from dockbolt.core.mrkdwn import code, escape
from workers.docker_port import ContainerSummary, ImageSummary, PortMapping, RunResult
from workers.stats_math import StatsRow, human_size

PS_HEADERS = ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")
IMAGES_HEADERS = ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")
STATS_HEADERS = (
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
)
MASK = "***"

# --- go-units / docker CLI cell formatting -------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Format a duration like go-units ``HumanDuration`` ("Less than a second", "About an hour")."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def ellipsis(text: str, width: int) -> str:
    """Truncate to a display width with a trailing "…", like the CLI's ``formatter.Ellipsis``."""
    if width <= 0:
        return ""
    if sum(_char_width(c) for c in text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        if used + _char_width(ch) > width - 1:
            break
        out += ch
        used += _char_width(ch)
    return out + "…"


_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(text: str) -> str:
    """Quote a string like Go's ``strconv.Quote`` (how ``docker ps`` shows the COMMAND)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def short_id(object_id: str) -> str:
    """The 12-character id the CLI shows (an image's ``sha256:`` prefix dropped)."""
    return object_id.removeprefix("sha256:")[:12]


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ip_key(ip: str) -> tuple[int, int]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (0, 0)
    return (addr.version, int(addr))


def displayable_ports(ports: Iterable[PortMapping]) -> str:
    """Render ports like ``docker ps``: "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp"."""
    ordered = sorted(ports, key=lambda p: (p.private_port, _ip_key(p.ip), p.public_port, p.type))
    groups: dict[str, list[int]] = {}  # key -> [first, last]; insertion order is output order
    result: list[str] = []
    host_mappings: list[str] = []
    for port in ordered:
        key = port.type
        if port.ip:
            if port.public_port != port.private_port:
                host = _join_host_port(port.ip, str(port.public_port))
                host_mappings.append(f"{host}->{port.private_port}/{port.type}")
                continue
            key = f"{port.ip}/{port.type}"
        group = groups.get(key)
        if group is None:
            groups[key] = [port.private_port, port.private_port]
        elif port.private_port == group[1] + 1:
            group[1] = port.private_port
        else:
            result.append(_form_group(key, group[0], group[1]))
            groups[key] = [port.private_port, port.private_port]
    result += [_form_group(key, first, last) for key, (first, last) in groups.items()]
    return ", ".join(result + host_mappings)


def _form_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if ip:
        group = f"{_join_host_port(ip, group)}->{group}"
    return f"{group}/{proto}"


def familiar_image(image: str, image_id: str = "") -> str:
    """The image as ``docker ps`` shows it: short id when run by id, no digest, no docker.io prefix."""
    if not image:
        return "<no image>"
    if image_id and short_id(image_id) == short_id(image):
        return short_id(image)
    name, _, _digest = image.partition("@")
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Align columns like the CLI's tabwriter: each but the last padded to max(10, widest + 3)."""
    lines = [list(headers), *(list(r) for r in rows)]
    widths = [max(10, *(len(line[i]) + 3 for line in lines)) for i in range(len(headers) - 1)]
    return "\n".join(
        ("".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + line[-1]).rstrip()
        for line in lines
    )


# --- tables --------------------------------------------------------------------------------------------


def ps_table(containers: Iterable[ContainerSummary], now: float) -> str:
    """The ``docker ps`` table."""
    rows = [
        (
            short_id(c.id),
            familiar_image(c.image, c.image_id),
            go_quote(ellipsis(c.command, 20)),
            human_duration(now - c.created) + " ago",
            c.status,
            displayable_ports(c.ports),
            c.name,
        )
        for c in containers
    ]
    return table(PS_HEADERS, rows)


def _split_repo_tag(repo_tag: str) -> tuple[str, str]:
    repo, sep, tag = repo_tag.rpartition(":")
    # A colon inside the registry part ("host:5000/app") is not a tag separator.
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return repo or "<none>", tag or "<none>"


def images_table(images: Iterable[ImageSummary], now: float) -> str:
    """The ``docker images`` table: one row per tag, newest first."""
    rows: list[tuple[str, ...]] = []
    for img in sorted(images, key=lambda i: -i.created):
        for repo_tag in img.repo_tags or ("<none>:<none>",):
            repo, tag = _split_repo_tag(repo_tag)
            rows.append(
                (
                    repo,
                    tag,
                    short_id(img.id),
                    human_duration(now - img.created) + " ago",
                    human_size(img.size),
                )
            )
    return table(IMAGES_HEADERS, rows)


def stats_table(rows: Iterable[StatsRow]) -> str:
    """The ``docker stats --no-stream`` table."""
    cells = [
        (r.container_id, r.name, r.cpu, r.mem_usage, r.mem_percent, r.net_io, r.block_io, r.pids)
        for r in rows
    ]
    return table(STATS_HEADERS, cells)


# --- inspect -------------------------------------------------------------------------------------------


def mask_env(doc: Any) -> Any:
    """Return a copy of an inspect document with every ``Env`` value replaced by ``***`` (keys kept)."""
    if isinstance(doc, Mapping):
        return {
            k: [_mask_entry(e) for e in v] if k == "Env" and isinstance(v, list) else mask_env(v)
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [mask_env(v) for v in doc]
    return doc


def _mask_entry(entry: Any) -> Any:
    if not isinstance(entry, str):
        return entry
    key, sep, _value = entry.partition("=")
    return f"{key}={MASK}" if sep else entry


def inspect_json(doc: Mapping[str, Any]) -> str:
    """``docker inspect`` output (a one-element JSON array, 4-space indent) with env values masked."""
    return json.dumps([mask_env(doc)], indent=4, ensure_ascii=False)


# --- results -------------------------------------------------------------------------------------------


def count_noun(n: int, noun: str) -> str:
    """ "1 container", "3 containers"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ps_summary(n: int, show_all: bool) -> str:
    """The one-line summary above the ps table."""
    if n == 0:
        return "No containers." if show_all else "No running containers."
    return f"{count_noun(n, 'container') if show_all else count_noun(n, 'running container')}."


def images_summary(n: int) -> str:
    """The one-line summary above the images table."""
    return f"{count_noun(n, 'image')}." if n else "No images."


def inspect_summary(name: str, kind: str) -> str:
    """The line above an inspect document."""
    return f"Inspect of {kind} {code(name)} (environment values masked)."


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
