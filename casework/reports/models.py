"""The monthly summary behind large reports, and the indexes the live report queries use.

A national or provincial report over a year reads a few thousand summary rows instead of scanning a
million cases. The summary is rebuilt as a whole by `casework reports refresh` (nightly from cron);
reports of periods that ended before the last refresh read it and say "as of" that refresh, every
other report is computed live (casework.reports.figures).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.cases.models import Case, Person
from casework.db import UTCDateTime, utcnow
from casework.extensions import db


class ReportMonthStat(db.Model):
    """One count of one figure for one local month of one summarised unit's cases.

    Summarised units are the children of the root (provinces, with every unit below them) and the
    root itself (its own cases only: scope "own"). Codes are the report's row codes ("" for none).
    """

    __tablename__ = "report_month_stat"

    # Month first: a report reads a range of months (of every unit, or of one).
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # local "2026-04"
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "subtree" or "own"
    figure: Mapped[str] = mapped_column(String(48), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ReportRefresh(db.Model):
    """When the summary was last rebuilt (the figures are as of this moment)."""

    __tablename__ = "report_refresh"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)


# Live queries filter cases by when they were received, closed or classified, for the whole tree
# or a subtree, and read only plain statistics columns: these covering indexes answer them from
# the index alone (declared here, on the case tables, so that the reports package owns them).
Index(
    "ix_case_file_report_received",
    Case.received_at,
    Case.owning_unit_id,
    Case.severity,
    Case.source,
    Case.status,
)
Index("ix_case_file_report_closed", Case.closed_at, Case.owning_unit_id, Case.closure_outcome)
Index("ix_case_file_report_classified", Case.classified_at, Case.owning_unit_id, Case.severity)
Index("ix_person_report", Person.case_id, Person.role, Person.sex, Person.age_band)
