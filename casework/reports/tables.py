"""A report's tables and the small-count suppression rule applied to them.

Suppression (DOMAIN.md "Personal data protection"; config REPORT_SUPPRESS_BELOW, default 5): when a
report goes beyond the reader's own unit, every count from 1 to 4 is shown as "< 5". So that a
hidden count cannot be worked out by subtraction, each table (or group of rows) whose rows add up
to a shown total follows the complementary rule:

1. a total below the threshold (1–4) is hidden too;
2. when exactly one count of a group is hidden and its total is shown, the next smallest non-zero
   count of the group is hidden as well (so at least two unknowns make up the difference);
3. zero is shown as 0 (nothing to protect), and each period's column is treated on its own.

Tables whose rows do not add up to anything (a case can have several types) show no total, so
rule 2 does not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HIDDEN = None  # a suppressed cell


@dataclass
class Row:
    key: str
    label: str
    current: int
    previous: int
    group: str = ""
    # After suppression: the value to show, or None for "< threshold".
    shown_current: int | None = 0
    shown_previous: int | None = 0


@dataclass
class Group:
    key: str
    label: str
    rows: list[Row]
    total_current: int = 0
    total_previous: int = 0
    shown_total_current: int | None = 0
    shown_total_previous: int | None = 0


@dataclass
class Table:
    key: str
    title: str
    groups: list[Group]
    # True when the rows of each group add up to the group's total (a partition of the cases).
    adds_up: bool = True
    note: str = ""
    suppressed: bool = field(default=False)

    @property
    def rows(self) -> list[Row]:
        return [r for g in self.groups for r in g.rows]

    @property
    def chartable(self) -> bool:
        return len(self.groups) == 1 and bool(self.rows)


def _suppress_column(
    values: list[int], total: int, below: int, adds_up: bool
) -> tuple[list[bool], bool]:
    """Which of the values to hide, and whether to hide the total (the rule in the docstring)."""
    hidden = [0 < v < below for v in values]
    hide_total = adds_up and 0 < total < below
    if adds_up and not hide_total and sum(hidden) == 1:
        candidates = [(v, i) for i, v in enumerate(values) if v > 0 and not hidden[i]]
        if candidates:
            hidden[min(candidates)[1]] = True
    return hidden, hide_total


def apply_suppression(table: Table, below: int) -> None:
    """Fill the shown_* values: hidden cells become None. below <= 1 shows everything."""
    table.suppressed = below > 1
    for group in table.groups:
        for period in ("current", "previous"):
            values = [getattr(r, period) for r in group.rows]
            total = getattr(group, f"total_{period}")
            if below > 1:
                hidden, hide_total = _suppress_column(values, total, below, table.adds_up)
            else:
                hidden, hide_total = [False] * len(values), False
            for row, hide in zip(group.rows, hidden, strict=True):
                setattr(row, f"shown_{period}", HIDDEN if hide else getattr(row, period))
            setattr(group, f"shown_total_{period}", HIDDEN if hide_total else total)
