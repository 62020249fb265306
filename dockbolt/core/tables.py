"""Tables kept as cells until they are rendered, so tables from several hosts can be merged under a HOST
column (``dockbolt.core.fanout``), in one of three layouts:

- ``cli``: the docker CLI's (Go ``text/tabwriter``, minwidth 10, padding 3) — plain string headers;
- ``compact``: fitted to ``COMPACT_WIDTH`` display columns, the widest cells cut with "…" (for Slack and
  phones) — headers are ``Column("NAME", "compact", floor=16)``;
- ``lines``: no header line, one line per row, like a ``--format`` template without ``table``.

The layout travels with the headers (``Column``, a ``str``), so it survives what re-builds a table from
its headers and cells: the reporter masking cells, the fan-out putting a plain "HOST" column in front.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Layout = Literal["cli", "compact", "lines"]
LAYOUTS: tuple[Layout, ...] = ("cli", "compact", "lines")
COMPACT_WIDTH = 80
_COMPACT_GAP = 2
# A plain header in a compact table (the fan-out's HOST) is cut no shorter than this while others can be.
PLAIN_FLOOR = 16


class Column(str):
    """A header that also says its table's layout and, for ``compact``, the width a cut stops at first."""

    layout: Layout
    floor: int

    def __new__(cls, name: str, layout: Layout = "compact", floor: int = 0) -> Column:
        column = super().__new__(cls, name)
        column.layout, column.floor = layout, floor
        return column


def char_width(ch: str) -> int:
    """Display width of one character: 2 for East Asian wide and full-width ones, else 1."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Display width of ``text`` (as a terminal or Slack's monospace font shows it)."""
    if text.isascii():  # nearly every cell: one column per character
        return len(text)
    return sum(char_width(c) for c in text)


def ellipsis(text: str, width: int) -> str:
    """Truncate to a display width with a trailing "…", like the CLI's ``formatter.Ellipsis``."""
    if width <= 0:
        return ""
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        if used + char_width(ch) > width - 1:
            break
        out += ch
        used += char_width(ch)
    return out + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Align columns like the CLI's tabwriter: each but the last padded to max(10, widest + 3)."""
    lines = [list(headers), *(list(r) for r in rows)]
    return _tabwriter(lines, len(headers))


def _tabwriter(lines: list[list[str]], n: int) -> str:
    widths = [max(10, *(len(line[i]) + 3 for line in lines)) for i in range(n - 1)]
    return "\n".join(
        ("".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + line[-1]).rstrip()
        for line in lines
    )


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def fit_widths(natural: Sequence[int], floors: Sequence[int], total: int) -> list[int]:
    """Column widths whose sum is at most ``total``: the widest column above its floor loses a character
    until they fit; if the floors alone do not fit, the widest of all does, down to 1."""
    widths = list(natural)
    for limits in ([min(f, w) for f, w in zip(floors, natural, strict=True)], [1] * len(widths)):
        while sum(widths) > total:
            candidates = [i for i, w in enumerate(widths) if w > limits[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: (widths[i], -i))
            widths[widest] -= 1
    return widths


def compact(headers: Sequence[str], rows: Iterable[Sequence[str]], width: int = COMPACT_WIDTH) -> str:
    """Columns two spaces apart, every line at most ``width`` display columns: long cells end in "…"."""
    lines = [list(headers), *(list(r) for r in rows)]
    n = len(headers)
    natural = [max(display_width(line[i]) for line in lines) for i in range(n)]
    floors = [max(h.floor if isinstance(h, Column) else PLAIN_FLOOR, display_width(h)) for h in headers]
    widths = fit_widths(natural, floors, width - _COMPACT_GAP * (n - 1))
    gap = " " * _COMPACT_GAP
    return "\n".join(
        gap.join(_pad(ellipsis(cell, w), w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def lines(rows: Iterable[Sequence[str]]) -> str:
    """One line per row, no header; several cells (a HOST in front) aligned like the CLI's."""
    cells = [list(r) for r in rows]
    if not cells:
        return ""
    if len(cells[0]) == 1:
        return "\n".join(row[0] for row in cells)
    return _tabwriter(cells, len(cells[0]))


@dataclass(frozen=True)
class Table:
    """Headers and rows of cells, every cell already formatted; the layout comes with the headers."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
        """From any sequences of strings."""
        return cls(tuple(headers), tuple(tuple(r) for r in rows))

    @property
    def layout(self) -> Layout:
        """``cli`` unless a header is a ``Column`` saying otherwise."""
        return next((h.layout for h in self.headers if isinstance(h, Column)), "cli")

    def render(self) -> str:
        """The text, in the table's layout."""
        if self.layout == "compact":
            return compact(self.headers, (r for r in self.rows if len(r) == len(self.headers)))
        if self.layout == "lines":
            return lines(self.rows)
        return table(self.headers, self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``columns``: each header's layout and floor, when it is a ``Column``)."""
        data: dict[str, Any] = {"headers": [str(h) for h in self.headers],
                                "rows": [list(r) for r in self.rows]}
        if self.layout != "cli":
            data["columns"] = [[h.layout, h.floor] if isinstance(h, Column) else None for h in self.headers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """From ``to_dict``'s output."""
        headers: list[str] = [str(h) for h in data["headers"]]
        columns = data.get("columns")
        if isinstance(columns, list) and len(columns) == len(headers):
            for i, col in enumerate(columns):
                if isinstance(col, list) and len(col) == 2 and col[0] in LAYOUTS and isinstance(col[1], int):
                    headers[i] = Column(headers[i], col[0], col[1])
        return cls.of(headers, ([str(c) for c in r] for r in data["rows"]))
