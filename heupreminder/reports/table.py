"""Aligned terminal tables.

Contract: ``render_table(headers, rows, width)`` returns lines: a header, a
rule of dashes, then one line per row with every column left-aligned to its
widest cell. The **last** column wraps to fit ``width`` (default: the
terminal's width, at least 60); its continuation lines are indented under
it, so other columns stay aligned. No trailing spaces. An empty ``rows``
gives just the header and the rule.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

GAP = "  "
MIN_LAST = 20


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 width: int | None = None) -> list[str]:
    if width is None:
        width = max(60, shutil.get_terminal_size((100, 24)).columns)
    fixed = [max([len(headers[i]), *(len(r[i]) for r in rows)])
             for i in range(len(headers) - 1)]
    indent = sum(fixed) + len(GAP) * len(fixed)
    last_width = max(MIN_LAST, width - indent)

    def line(cells: Sequence[str]) -> list[str]:
        head = "".join(cell.ljust(w) + GAP for cell, w in zip(cells, fixed, strict=False))
        parts = textwrap.wrap(cells[-1], last_width, break_long_words=True) or [""]
        first = (head + parts[0]).rstrip()
        return [first, *((" " * indent + more).rstrip() for more in parts[1:])]

    rule = [GAP.join("-" * w for w in fixed) + GAP + "-" * min(
        last_width, max([len(headers[-1]), *(len(r[-1]) for r in rows)]))]
    return [*line(headers), *rule, *(text for row in rows for text in line(row))]
