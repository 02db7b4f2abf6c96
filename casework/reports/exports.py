"""The report as a file: CSV (UTF-8 with a byte-order mark, so Excel reads Vietnamese) and XLSX.

Both carry the title, the unit, the period and the previous period at the top, then each table
with the same suppressed values as the page ("< 5"), never the hidden numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from casework.reports.forms import GROUPING_LABELS
from casework.reports.service import Report


def hidden_text(report: Report) -> str:
    return f"< {report.threshold}"


COMPLEMENT_TEXT = "×"


def _cell(value: int | None, report: Report) -> int | str:
    if value is None:
        return hidden_text(report)
    return COMPLEMENT_TEXT if value < 0 else value


def period_text(period: object) -> str:
    return f"{format_date(period.start, 'short')} – {format_date(period.end, 'short')}"  # type: ignore[attr-defined]


def title(report: Report) -> str:
    return _(
        "Report on cases: %(unit)s, %(period)s", unit=report.unit.name, period=report.period.slug
    )


def heading_lines(report: Report) -> list[list[str]]:
    lines = [
        [title(report)],
        [_("Unit"), f"{report.unit.name} ({report.unit.code})"],
        [_("Period"), period_text(report.period)],
        [_("Previous period"), period_text(report.previous)],
        [_("Merged and retired units"), str(GROUPING_LABELS[report.grouping])],
        [_("Produced"), format_datetime(report.generated_at, "short")],
    ]
    if report.suppressed:
        lines.append(
            [
                _(
                    'Counts from 1 to %(n)d are shown as "< %(m)d"; "×" is a larger count hidden '
                    "so that a total does not give a small one away.",
                    n=report.threshold - 1,
                    m=report.threshold,
                )
            ]
        )
    return lines


def table_lines(report: Report) -> Iterator[list[object]]:
    this, before = _("This period"), _("Previous period")
    for table in report.tables:
        yield []
        yield [table.title]
        yield ["", this, before]
        for group in table.groups:
            if group.label:
                yield [group.label]
            for row in group.rows:
                yield [
                    row.label,
                    _cell(row.shown_current, report),
                    _cell(row.shown_previous, report),
                ]
            if table.adds_up:
                yield [
                    _("Total"),
                    _cell(group.shown_total_current, report),
                    _cell(group.shown_total_previous, report),
                ]
        if table.note:
            yield [table.note]


def _safe(cell: object) -> object:
    """A text that a spreadsheet would run as a formula (a unit named "=…") is quoted."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _lines(report: Report) -> Iterator[list[object]]:
    for line in [*heading_lines(report), *table_lines(report)]:
        yield [_safe(cell) for cell in line]


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(_lines(report))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = report.period.slug[:31]
    book.properties.title = title(report)
    for line in _lines(report):
        sheet.append(line)
        if len(line) == 1 and line[0]:
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 60
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
