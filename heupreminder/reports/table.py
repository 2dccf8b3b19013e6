"""Aligned terminal tables: the one renderer behind history, preview and status.

Contract: ``render_table(headers, rows, width)`` returns lines: a header, a
rule of dashes, then one line per row with every column left-aligned to its
widest cell. The **last** column wraps to fit ``width`` (default: the
terminal's width, at least 60); its continuation lines are indented under
it, so other columns stay aligned. No trailing spaces. An empty ``rows``
gives just the header and the rule.

Options for the other tables: ``gap`` separates the columns (``" | "`` draws
``-+-`` in the rule), ``rule=False`` leaves the rule out and
``wrap_last=False`` keeps each row on one line however long its last cell.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

GAP = "  "
MIN_LAST = 20


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 width: int | None = None, *, gap: str = GAP, rule: bool = True,
                 wrap_last: bool = True) -> list[str]:
    if width is None:
        width = max(60, shutil.get_terminal_size((100, 24)).columns)
    fixed = [max([len(headers[i]), *(len(r[i]) for r in rows)])
             for i in range(len(headers) - 1)]
    indent = sum(fixed) + len(gap) * len(fixed)
    widest_last = max([len(headers[-1]), *(len(r[-1]) for r in rows)])
    last_width = max(MIN_LAST, width - indent) if wrap_last else widest_last

    def line(cells: Sequence[str]) -> list[str]:
        head = "".join(cell.ljust(w) + gap for cell, w in zip(cells, fixed, strict=False))
        parts = textwrap.wrap(cells[-1], last_width, break_long_words=True) \
            if wrap_last else [cells[-1]]
        first = (head + (parts or [""])[0]).rstrip()
        return [first, *((" " * indent + more).rstrip() for more in parts[1:])]

    # A visible separator crosses the rule ("-+-"); a blank one stays blank.
    joint = gap.replace(" ", "-").replace("|", "+") if gap.strip() else gap
    dashes = [joint.join("-" * w for w in fixed) + joint + "-" * min(last_width, widest_last)]
    return [*line(headers), *(dashes if rule else []),
            *(text for row in rows for text in line(row))]
