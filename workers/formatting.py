"""Text as the Docker CLI prints it: tables, cells, sizes, durations, quoting. Pure functions.

Tables reproduce the CLI's layout (Go ``text/tabwriter`` with minwidth 10, padding 3) and its cell
formatting (docker/cli ``formatter`` and go-units), so a table reads like the terminal output users know.
``ps`` and ``images`` also have a compact table (80 columns: Slack, phones; the default) and the values
of the ``--format`` template fields (``dockbolt.core.goformat``).
Sizes and percentages follow go-units exactly (``HumanSize``, ``BytesSize``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dockbolt.core.redact import Redactor
from dockbolt.core.tables import Column, Table, ellipsis
from workers import stats_math
from workers.docker_port import ContainerSummary, ImageSummary, PortMapping

if TYPE_CHECKING:  # the Swarm shapes; their module is the SDK's edge
    from workers.docker_swarm import NodeInfo, ServiceInfo, TaskInfo

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


# --- go-units / docker CLI cell formatting -------------------------------------------------------------


DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _size_and_unit(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def bytes_size(size: float) -> str:
    """Format like go-units ``BytesSize``: binary units, 4 significant digits ("612KiB", "64MiB")."""
    value, unit = _size_and_unit(size, 1024.0, BINARY_UNITS)
    return f"{value:.4g}{unit}"


def human_size(size: float, precision: int = 3) -> str:
    """Format like go-units ``HumanSizeWithPrecision``: decimal units ("736B", "1.05MB")."""
    value, unit = _size_and_unit(size, 1000.0, DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def percent(value: float) -> str:
    """Format a percentage the way the CLI does ("0.93%")."""
    return f"{value:.2f}%"


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


# --- tables --------------------------------------------------------------------------------------------


def ps_table(containers: Iterable[ContainerSummary], now: float) -> Table:
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
    return Table.of(PS_HEADERS, rows)


def _split_repo_tag(repo_tag: str) -> tuple[str, str]:
    repo, sep, tag = repo_tag.rpartition(":")
    # A colon inside the registry part ("host:5000/app") is not a tag separator.
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return repo or "<none>", tag or "<none>"


def images_table(images: Iterable[ImageSummary], now: float) -> Table:
    """The ``docker images`` table: one row per tag, newest first."""
    rows = [(repo, tag, short_id(img.id), human_duration(now - img.created) + " ago", human_size(img.size))
            for img, repo, tag in _image_tags(images)]
    return Table.of(IMAGES_HEADERS, rows)


def _image_tags(images: Iterable[ImageSummary]) -> list[tuple[ImageSummary, str, str]]:
    """(image, repository, tag) per tag, newest image first, as ``docker images`` lists them."""
    return [(img, *_split_repo_tag(repo_tag)) for img in sorted(images, key=lambda i: -i.created)
            for repo_tag in img.repo_tags or ("<none>:<none>",)]


# --- compact tables (the default in chat) and --format template fields ----------------------------------

PS_COMPACT = (Column("NAME", floor=20), Column("IMAGE", floor=16), Column("STATUS", floor=24),
              Column("PORTS", floor=12))
IMAGES_COMPACT = (Column("IMAGE", floor=20), Column("ID", floor=12), Column("CREATED", floor=14),
                  Column("SIZE", floor=7))


def compact_ports(ports: Iterable[PortMapping]) -> str:
    """Ports as ``docker ps`` shows them, minus the any-address prefixes and the IPv6 twin they leave:
    "8080->80/tcp, 443/tcp" (a port published on one address keeps it: "127.0.0.1:8080->80/tcp")."""
    shown = (p.removeprefix("0.0.0.0:").removeprefix("[::]:") for p in displayable_ports(ports).split(", "))
    return ", ".join(dict.fromkeys(p for p in shown if p))


def ps_compact_table(containers: Iterable[ContainerSummary]) -> Table:
    """``ps`` in at most 80 columns: NAME, IMAGE, STATUS, PORTS (long cells cut with "…" when rendered)."""
    rows = [(c.name, familiar_image(c.image, c.image_id), c.status, compact_ports(c.ports))
            for c in containers]
    return Table.of(PS_COMPACT, rows)


def images_compact_table(images: Iterable[ImageSummary], now: float) -> Table:
    """``images`` in at most 80 columns: REPOSITORY:TAG, ID, CREATED, SIZE; one row per tag, newest first."""
    rows = [(repo if tag == "<none>" else f"{repo}:{tag}", short_id(img.id),
             human_duration(now - img.created) + " ago", human_size(img.size))
            for img, repo, tag in _image_tags(images)]
    return Table.of(IMAGES_COMPACT, rows)


def go_time(unix: float) -> str:
    """A time as Go's ``time.Time.String`` prints it in local time ("2026-12-06 18:45:34 +0000 UTC")."""
    return datetime.fromtimestamp(unix).astimezone().strftime("%Y-%m-%d %H:%M:%S %z %Z")


def ps_fields(c: ContainerSummary, now: float) -> dict[str, str]:
    """The ``docker ps --format`` fields of one container (``goformat.PS_FIELDS``), as docker fills them."""
    return {
        "ID": short_id(c.id), "Image": familiar_image(c.image, c.image_id),
        "Command": go_quote(ellipsis(c.command, 20)), "CreatedAt": go_time(c.created),
        "RunningFor": human_duration(now - c.created) + " ago", "Ports": displayable_ports(c.ports),
        "Status": c.status, "Names": c.name, "State": c.state,
        # docker joins a Go map, in no particular order; sorted here so a reply does not change by itself.
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items())),
    }


def images_fields(images: Iterable[ImageSummary], now: float) -> list[dict[str, str]]:
    """The ``docker images --format`` fields (``goformat.IMAGES_FIELDS``): a record per tag, newest first."""
    return [{"ID": short_id(img.id), "Repository": repo, "Tag": tag,
             "CreatedSince": human_duration(now - img.created) + " ago", "CreatedAt": go_time(img.created),
             "Size": human_size(img.size)}
            for img, repo, tag in _image_tags(images)]


@dataclass(frozen=True)
class StatsRow:
    """One ``docker stats`` row, every cell already formatted like the CLI."""

    container_id: str
    name: str
    cpu: str
    mem_usage: str
    mem_percent: str
    net_io: str
    block_io: str
    pids: str


def stats_row(sample: Mapping[str, Any]) -> StatsRow:
    """Compute and format one CLI row from a raw stats sample."""
    raw_name = str(sample.get("name") or "")
    rx, tx = stats_math.network_io(sample)
    blk_read, blk_write = stats_math.block_io(sample)
    used, limit = stats_math.memory_used(sample), stats_math.memory_limit(sample)
    return StatsRow(
        container_id=str(sample.get("id") or "")[:12],
        name=raw_name[1:] if len(raw_name) > 1 else "--",
        cpu=percent(stats_math.cpu_percent(sample)),
        mem_usage=f"{bytes_size(used)} / {bytes_size(limit)}",
        mem_percent=percent(stats_math.memory_percent(sample)),
        net_io=f"{human_size(rx)} / {human_size(tx)}",
        block_io=f"{human_size(blk_read)} / {human_size(blk_write)}",
        pids=f"{stats_math.pids(sample):d}",
    )


def stats_table(rows: Iterable[StatsRow]) -> Table:
    """The ``docker stats --no-stream`` table."""
    cells = [
        (r.container_id, r.name, r.cpu, r.mem_usage, r.mem_percent, r.net_io, r.block_io, r.pids)
        for r in rows
    ]
    return Table.of(STATS_HEADERS, cells)


def inspect_json(doc: Mapping[str, Any], redactor: Redactor | None = None) -> str:
    """``docker inspect`` output (a one-element JSON array, 4-space indent) with every ``Env`` value, secret
    ``Labels`` and ``Cmd``/``Entrypoint``/``Args`` items and any other secret masked (``mask_document``)."""
    return json.dumps([(redactor or Redactor()).mask_document(doc)], indent=4, ensure_ascii=False)


# --- Swarm: `service ls`, `service ps`, `node ls` -------------------------------------------------------

SERVICES_HEADERS = ("ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS")
TASKS_HEADERS = ("ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR")
NODES_HEADERS = ("ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION")


def services_table(services: Iterable[ServiceInfo]) -> Table:
    """The ``docker service ls`` table (REPLICAS running/desired; a global service's desired is unknown)."""
    rows = [(short_id(s.id), s.name, "global" if s.desired is None else "replicated",
             f"{s.running}/{'-' if s.desired is None else s.desired}", familiar_image(s.image),
             ", ".join(s.ports))
            for s in services]
    return Table.of(SERVICES_HEADERS, rows)


def swarm_time(stamp: str) -> float | None:
    """Unix seconds of an engine timestamp (RFC 3339 with nanoseconds); None if it is not one."""
    head, dot, frac = stamp.rstrip("Z").partition(".")
    try:
        return datetime.fromisoformat(f"{head}.{frac[:6]}" if dot else head).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def tasks_table(tasks: Iterable[TaskInfo], now: float) -> Table:
    """The ``docker service ps`` table (CURRENT STATE with how long ago, like the CLI)."""
    rows = []
    for t in tasks:
        when = swarm_time(t.since)
        ago = f" {human_duration(now - when)} ago" if when is not None else ""
        rows.append((short_id(t.id), t.name, familiar_image(t.image), t.node, t.desired_state.capitalize(),
                     t.state.capitalize() + ago, go_quote(ellipsis(t.error, 40)) if t.error else ""))
    return Table.of(TASKS_HEADERS, rows)


def nodes_table(nodes: Iterable[NodeInfo]) -> Table:
    """The ``docker node ls`` table."""
    return Table.of(NODES_HEADERS, [(n.id[:25], n.hostname, n.status, n.availability, n.manager_status,
                                     n.engine_version) for n in nodes])
