"""Server-rendered SVG bar charts: no script, no external file, readable on a 360 px phone and on
paper. Each row is its label on one line and two bars below it (this period, the previous one),
each with its number; a hidden count draws no bar and says "< 5", so the chart never shows more
than the table. Colours come from presentation attributes (the CSP allows no inline style)."""

from __future__ import annotations

from markupsafe import Markup, escape

from casework.reports.tables import Table

WIDTH = 320  # viewBox units; the SVG scales to its container
LABEL_H = 16
BAR_H = 11
GAP = 8
NUMBER_W = 40
CURRENT = "#8c1d40"
PREVIOUS = "#c9a3b3"


def _bar(y: int, value: int | None, top: int, colour: str, hidden_text: str) -> str:
    room = WIDTH - NUMBER_W
    if value is None or value < 0:
        label = hidden_text if value is None else "×"
        return f'<text x="0" y="{y + BAR_H - 1}" font-size="10" fill="#333">{escape(label)}</text>'
    length = 0 if top == 0 else max(1, round(room * value / top)) if value else 0
    return (
        f'<rect x="0" y="{y}" width="{length}" height="{BAR_H}" fill="{colour}"/>'
        f'<text x="{length + 4}" y="{y + BAR_H - 1}" font-size="10" fill="#111">{value}</text>'
    )


def bar_chart(table: Table, chart_id: str, this: str, before: str, hidden_text: str) -> Markup:
    """A horizontal bar chart of a one-group table's rows that have anything to show."""
    rows = [r for r in table.rows if r.current or r.previous]
    top = max(
        [v for r in rows for v in (r.shown_current, r.shown_previous) if v is not None and v >= 0]
        or [0]
    )
    row_h = LABEL_H + 2 * BAR_H + GAP
    legend_h = 18
    height = legend_h + max(1, len(rows)) * row_h
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(table.title)}</title>',
        f'<rect x="0" y="2" width="10" height="10" fill="{CURRENT}"/>'
        f'<text x="14" y="11" font-size="10" fill="#111">{escape(this)}</text>'
        f'<rect x="160" y="2" width="10" height="10" fill="{PREVIOUS}"/>'
        f'<text x="174" y="11" font-size="10" fill="#111">{escape(before)}</text>',
    ]
    for i, row in enumerate(rows):
        y = legend_h + i * row_h
        parts.append(
            f'<text x="0" y="{y + LABEL_H - 4}" font-size="11" fill="#111">'
            f"{escape(row.label[:60])}</text>"
        )
        parts.append(_bar(y + LABEL_H, row.shown_current, top, CURRENT, hidden_text))
        parts.append(_bar(y + LABEL_H + BAR_H, row.shown_previous, top, PREVIOUS, hidden_text))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)  # nosec B704
