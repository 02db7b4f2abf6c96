"""A report's tables and the small-count suppression rule applied to them.

Suppression (DOMAIN.md "Personal data protection"; config REPORT_SUPPRESS_BELOW, default 5): when a
report goes beyond the reader's own unit, every count from 1 to 4 is shown as "< 5". So that a
hidden count cannot be worked out by subtraction, each table (or group of rows) whose rows add up
to a shown total follows the complementary rule:

1. a total below the threshold (1–4) is hidden too;
2. when exactly one count of a group is hidden and its total is shown, the smallest count of the
   group from 5 up is hidden as well, shown as "×" (so at least two unknowns make up the
   difference, and no number is shown as "< 5" that is not);
3. zero is shown as 0 (nothing to protect), and each period's column is treated on its own.

Tables whose rows do not add up to anything (a case can have several types) show no total, so
rule 2 does not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SMALL = None  # a count below the threshold: shown as "< 5"
COMPLEMENT = -1  # a larger count hidden so that the total does not give a small one away: "×"


@dataclass
class Row:
    key: str
    label: str
    current: int
    previous: int
    group: str = ""
    # After suppression: the value to show, SMALL ("< 5") or COMPLEMENT ("×").
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
) -> tuple[list[int | None], bool]:
    """Each value as shown (SMALL, COMPLEMENT or itself), and whether to hide the total."""
    shown: list[int | None] = [SMALL if 0 < v < below else v for v in values]
    hide_total = adds_up and 0 < total < below
    if adds_up and not hide_total and shown.count(SMALL) == 1:
        candidates = [(v, i) for i, v in enumerate(values) if v >= below]
        if candidates:
            shown[min(candidates)[1]] = COMPLEMENT
    return shown, hide_total


def apply_suppression(table: Table, below: int) -> None:
    """Fill the shown_* values (SMALL and COMPLEMENT for hidden cells); below <= 1 shows all."""
    table.suppressed = below > 1
    for group in table.groups:
        for period in ("current", "previous"):
            values = [getattr(r, period) for r in group.rows]
            total = getattr(group, f"total_{period}")
            if below > 1:
                shown, hide_total = _suppress_column(values, total, below, table.adds_up)
            else:
                shown, hide_total = list(values), False
            for row, value in zip(group.rows, shown, strict=True):
                setattr(row, f"shown_{period}", value)
            setattr(group, f"shown_total_{period}", SMALL if hide_total else total)
