"""Small counts are hidden beyond the reader's own unit, and totals never give them away."""

from __future__ import annotations

from casework.reports import service
from casework.reports.periods import Period
from casework.reports.tables import COMPLEMENT, Group, Row, Table, apply_suppression
from tests.reports.conftest import case_at, local

APRIL = Period.calendar("month", 2026, 4)


def _table(values: list[int], adds_up: bool = True) -> Table:
    rows = [Row(str(i), str(i), v, 0) for i, v in enumerate(values)]
    return Table("t", "t", [Group("", "", rows, sum(values), 0)], adds_up=adds_up)


def _shown(table: Table) -> list[int | None]:
    return [r.shown_current for r in table.rows]


def test_counts_from_one_to_four_are_hidden_and_zero_is_shown() -> None:
    table = _table([0, 1, 4, 5, 12])
    apply_suppression(table, 5)
    assert _shown(table) == [0, None, None, 5, 12]
    assert table.groups[0].shown_total_current == 22


def test_a_single_hidden_count_hides_the_next_smallest_so_the_total_cannot_reveal_it() -> None:
    table = _table([3, 0, 9, 20])
    apply_suppression(table, 5)
    # 9 is hidden as "×", not as "< 5": the total 32 then leaves two unknowns.
    assert _shown(table) == [None, 0, COMPLEMENT, 20]
    assert table.groups[0].shown_total_current == 32


def test_a_total_below_the_threshold_is_hidden() -> None:
    table = _table([2, 0])
    apply_suppression(table, 5)
    assert _shown(table) == [None, 0]
    assert table.groups[0].shown_total_current is None


def test_rows_that_do_not_add_up_need_no_complementary_hiding() -> None:
    table = _table([3, 9, 20], adds_up=False)
    apply_suppression(table, 5)
    assert _shown(table) == [None, 9, 20]


def test_threshold_one_shows_everything() -> None:
    table = _table([1, 2, 3])
    apply_suppression(table, 1)
    assert _shown(table) == [1, 2, 3]


def _severity(report):  # type: ignore[no-untyped-def]
    table = next(t for t in report.tables if t.key == "severity")
    return {r.key: r.shown_current for r in table.rows}


def test_reviewer_report_of_her_subtree_is_suppressed(org):  # type: ignore[no-untyped-def]
    case_at(org["officer_c1"], local(2026, 4, 2, 9), severity="S2")
    report = service.build_report(org["reviewer_d1"], org["D1"], APRIL, "recorded")
    assert report.suppressed
    assert _severity(report)["S2"] is None


def test_officer_report_of_her_own_unit_is_not_suppressed(org):  # type: ignore[no-untyped-def]
    case_at(org["officer_c1"], local(2026, 4, 2, 9), severity="S2")
    report = service.build_report(org["officer_c1"], org["C1"], APRIL, "recorded")
    assert not report.suppressed
    assert _severity(report)["S2"] == 1


def test_threshold_is_configurable(app, org):  # type: ignore[no-untyped-def]
    app.config["REPORT_SUPPRESS_BELOW"] = 2
    case_at(org["officer_c1"], local(2026, 4, 2, 9), severity="S2")
    case_at(org["officer_c1"], local(2026, 4, 3, 9), severity="S2")
    report = service.build_report(org["reviewer_hy"], org["HY"], APRIL, "recorded")
    assert _severity(report)["S2"] == 2
