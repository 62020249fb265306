"""`ps`/`images` ``--format``: the small part of docker's Go templates dockbolt supports. Pure.

A format is ``table`` (the CLI's own layout), or a template of literal text and ``{{.Field}}``
placeholders, optionally after a leading ``table`` (then a header row, columns split at tabs and aligned
like the CLI's). As in docker, the literal two-character escapes ``\\t`` and ``\\n`` become a tab and a
newline. Nothing else a Go template can do (functions, pipes, ``{{json .}}``, ranges) is accepted: the
bot refuses such a format (``parse`` raises ValueError with the reason) before anything is queued, and the
worker fills placeholders by plain substitution — no template engine, no eval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dockbolt.core.tables import Column, Table

TABLE = "table"

# The fields, and the header docker gives each in a `table` format.
PS_FIELDS: Mapping[str, str] = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Names": "NAMES", "Labels": "LABELS",
    "State": "STATE",
}
# docker has them, but the engine's list answer as dockbolt keeps it does not (yet).
PS_NOT_YET = ("Size", "Mounts", "Networks", "LocalVolumes")
IMAGES_FIELDS: Mapping[str, str] = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT", "Size": "SIZE",
}
IMAGES_NOT_YET = ("Digest", "Containers", "SharedSize", "UniqueSize", "VirtualSize")

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r"\A\s*\.([A-Za-z][A-Za-z0-9]*)\s*\Z")


@dataclass(frozen=True)
class Field:
    """A ``{{.Name}}`` placeholder."""

    name: str


@dataclass(frozen=True)
class Template:
    """A parsed format: ``table`` or not, and its pieces (literal text and fields), in order."""

    table: bool
    parts: tuple[str | Field, ...]

    def fill(self, values: Mapping[str, str]) -> str:
        """The text for one row: every field replaced by its value."""
        return "".join(p if isinstance(p, str) else values[p.name] for p in self.parts)

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names used, in order (repeats kept)."""
        return tuple(p.name for p in self.parts if isinstance(p, Field))


def is_cli_table(fmt: str) -> bool:
    """True for ``table`` alone: the CLI's default layout."""
    return fmt.strip() == TABLE


def check(fmt: str, fields: Mapping[str, str], not_yet: Iterable[str] = ()) -> str:
    """``fmt`` when it is a format we run ("" for the compact table, ``table``, or a template), else
    ValueError saying why."""
    if fmt and not is_cli_table(fmt):
        parse(fmt, fields, not_yet)
    return fmt


def parse(fmt: str, fields: Mapping[str, str], not_yet: Iterable[str] = ()) -> Template:
    """Parse a ``--format`` template over ``fields``; ValueError (for the user) when it is not one we run."""
    text = fmt.strip()
    if text == "json":  # docker's JSON lines: a different output, not a template
        raise ValueError("`json` output is not supported: use `table` or a `{{.Field}}` template")
    table = text.startswith(TABLE)  # docker's own test: a prefix, "table" glued to the rest included
    if table:
        text = text[len(TABLE):].strip(" ")
    text = text.replace("\\t", "\t").replace("\\n", "\n")
    if table and "\n" in text:
        raise ValueError("a `table` format is one line per row: drop the `\\n`")
    parts: list[str | Field] = []
    pos = 0
    for m in _ACTION.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        parts.append(Field(_field(m.group(1), fields, tuple(not_yet))))
        pos = m.end()
    rest = text[pos:]
    if "{{" in rest:
        raise ValueError("unclosed `{{` in the format (every `{{` needs its `}}`)")
    if rest:
        parts.append(rest)
    if not parts:
        raise ValueError("the format is empty: give `table` or a template such as `{{.Names}}`")
    return Template(table=table, parts=tuple(parts))


def _field(action: str, fields: Mapping[str, str], not_yet: tuple[str, ...]) -> str:
    known = ", ".join(f"`.{f}`" for f in fields)
    m = _FIELD.match(action)
    if m is None:
        shown = "{{" + action + "}}"
        raise ValueError(f"only plain `{{{{.Field}}}}` placeholders work, not `{shown}` (no functions, pipes "
                         f"or `json`); fields: {known}")
    name = m.group(1)
    if name in fields:
        return name
    if name in not_yet:
        raise ValueError(f"`.{name}` is not available in dockbolt yet; fields: {known}")
    near = next((f for f in fields if f.lower() == name.lower()), None)
    hint = f" (did you mean `.{near}`?)" if near else ""
    raise ValueError(f"unknown field `.{name}`{hint}; fields: {known}")


def render(template: Template, headers: Mapping[str, str], records: Iterable[Mapping[str, str]]) -> Table:
    """The rows a template makes of ``records`` (each a field → value mapping): a CLI-layout table with
    docker's headers for a ``table`` template, else header-less lines."""
    if not template.table:
        return Table.of((Column("", "lines"),), ((template.fill(r),) for r in records))
    head = template.fill(headers).split("\t")
    # A tab inside a value would shift every cell after it.
    rows = [template.fill({k: v.replace("\t", " ") for k, v in r.items()}).split("\t") for r in records]
    return Table.of(head, rows)
