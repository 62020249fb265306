"""A table as the docker CLI prints it (Go ``text/tabwriter``, minwidth 10, padding 3), kept as cells until
it is rendered, so tables from several hosts can be merged under a HOST column (``dockbolt.core.fanout``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Align columns like the CLI's tabwriter: each but the last padded to max(10, widest + 3)."""
    lines = [list(headers), *(list(r) for r in rows)]
    widths = [max(10, *(len(line[i]) + 3 for line in lines)) for i in range(len(headers) - 1)]
    return "\n".join(
        ("".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + line[-1]).rstrip()
        for line in lines
    )


@dataclass(frozen=True)
class Table:
    """Headers and rows of cells, every cell already formatted."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
        """From any sequences of strings."""
        return cls(tuple(headers), tuple(tuple(r) for r in rows))

    def render(self) -> str:
        """The CLI's text."""
        return table(self.headers, self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"headers": list(self.headers), "rows": [list(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """From ``to_dict``'s output."""
        return cls.of([str(h) for h in data["headers"]], ([str(c) for c in r] for r in data["rows"]))
