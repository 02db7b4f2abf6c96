"""The unit tree: create, rename, move, retire with a successor, and import (official list or CSV)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted, Permission, require

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def levels() -> list[str]:
    return list(current_app.config["UNIT_LEVELS"])


def level_rank(level: str) -> int:
    return levels().index(level)


def _check_placement(level: str, parent: Unit | None) -> None:
    """A unit sits strictly below its parent's level; only the top level has no parent."""
    if level not in levels():
        raise Invalid(_l("Choose a level."), level=_l("Choose a level."))
    if parent is None:
        if level_rank(level) != 0:
            message = _l("Only a unit of the top level can have no parent.")
            raise Invalid(message, parent=message)
        return
    if parent.is_retired:
        message = _l("The parent unit has been retired.")
        raise Invalid(message, parent=message)
    if parent.level not in levels() or level_rank(parent.level) >= level_rank(level):
        message = _l("The parent unit must be of a higher level than this unit.")
        raise Invalid(message, parent=message)


def _authorise(actor: User | None, unit: Unit | None) -> None:
    """The command line (actor None) is the operator; a person needs the policy's consent."""
    if actor is None:
        return
    if unit is None:
        # A new root unit: only an admin of a root unit may create one.
        require(actor, Permission.UNIT_MANAGE)
        if actor.unit is None or actor.unit.parent_id is not None:
            raise NotPermitted(Permission.UNIT_MANAGE)
    else:
        require(actor, Permission.UNIT_MANAGE, unit)


def _check_version(unit: Unit, expected_version: int | None) -> None:
    if expected_version is not None and unit.version != expected_version:
        raise StaleEdit(_l("Someone else changed this unit meanwhile. Reload and try again."))


def create_unit(
    actor: User | None, *, code: str, name: str, level: str, parent: Unit | None
) -> Unit:
    """Add a unit under a parent in the actor's subtree."""
    code, name = code.strip(), " ".join(name.split())
    if not CODE_RE.match(code):
        message = _l("A code has 1–32 letters, digits, dots, dashes or underscores.")
        raise Invalid(message, code=message)
    if not name or len(name) > 200:
        message = _l("Enter a name of at most 200 characters.")
        raise Invalid(message, name=message)
    _authorise(actor, parent)
    _check_placement(level, parent)
    if db.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        message = _l("Another unit already has this code.")
        raise Invalid(message, code=message)
    unit = Unit(code=code, name=name, level=level, parent=parent)
    db.session.add(unit)
    db.session.flush()
    audit.record(actor, Tag.UNIT_CREATE, unit, parent_id=unit.parent_id, level=level)
    return unit


def rename_unit(
    actor: User | None, unit: Unit, name: str, *, expected_version: int | None = None
) -> None:
    _authorise(actor, unit)
    _check_version(unit, expected_version)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        message = _l("Enter a name of at most 200 characters.")
        raise Invalid(message, name=message)
    unit.name = name
    db.session.flush()
    audit.record(actor, Tag.UNIT_RENAME, unit)


def move_unit(
    actor: User | None, unit: Unit, new_parent: Unit, *, expected_version: int | None = None
) -> None:
    """Put a unit (and its subtree) under another parent; never under itself or its descendants."""
    _authorise(actor, unit)
    _authorise(actor, new_parent)
    _check_version(unit, expected_version)
    if unit.is_retired:
        raise Invalid(_l("A retired unit cannot be moved."))
    if new_parent.id == unit.id or unit in new_parent.ancestors():
        message = _l("A unit cannot be moved under itself or one of its own units.")
        raise Invalid(message, parent=message)
    _check_placement(unit.level, new_parent)
    old_parent_id = unit.parent_id
    unit.parent = new_parent
    db.session.flush()
    audit.record(
        actor, Tag.UNIT_MOVE, unit, old_parent_id=old_parent_id, new_parent_id=new_parent.id
    )


def retire_unit(
    actor: User | None, unit: Unit, successor: Unit, *, expected_version: int | None = None
) -> None:
    """Retire a unit, naming the unit that takes over its work (history keeps the old unit)."""
    _authorise(actor, unit)
    _authorise(actor, successor)
    _check_version(unit, expected_version)
    if unit.is_retired:
        raise Invalid(_l("This unit is already retired."))
    if successor.id == unit.id or successor.is_retired:
        message = _l("Choose an active unit other than this one as successor.")
        raise Invalid(message, successor=message)
    if unit in successor.ancestors():
        message = _l("The successor cannot be one of this unit's own units.")
        raise Invalid(message, successor=message)
    active_children = db.session.scalar(
        select(func.count(Unit.id)).where(Unit.parent_id == unit.id, Unit.retired_at.is_(None))
    )
    if active_children:
        raise Invalid(_l("Move or retire the units under this one first."))
    active_users = db.session.scalar(
        select(func.count(User.id)).where(User.unit_id == unit.id, User.active.is_(True))
    )
    if active_users:
        raise Invalid(_l("Move or deactivate this unit's user accounts first."))
    unit.retired_at = utcnow()
    unit.successor = successor
    db.session.flush()
    audit.record(actor, Tag.UNIT_RETIRE, unit, successor_id=successor.id)


def subtree_select(root_id: Any, *, name: str = "tree") -> Select[tuple[int]]:
    """A query of the ids of a unit and every unit below it, to use inside another query (two in
    one statement need different names)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte(name=name, recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return select(tree.c.id)


def subtree_ids(root_id: int) -> list[int]:
    """Ids of a unit and every unit below it (one recursive query)."""
    return list(db.session.scalars(subtree_select(root_id)))


def search_units(actor: User, text: str, *, limit: int = 50) -> list[Unit]:
    """Units of the actor's subtree whose code starts with, or whose name contains, the text."""
    require(actor, Permission.UNIT_MANAGE)
    text = " ".join(text.split())
    if not text or actor.unit_id is None:
        return []
    query = (
        select(Unit)
        .where(Unit.id.in_(subtree_select(actor.unit_id)))
        .where(
            Unit.code.istartswith(text, autoescape=True)
            | Unit.name.icontains(text, autoescape=True)
        )
        .order_by(Unit.code)
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class ChildSummary:
    unit: Unit
    units_below: int
    users: int


def children_of(unit: Unit) -> list[ChildSummary]:
    """A unit's direct children, each with its number of direct children and of user accounts."""
    child = select(Unit.id).where(Unit.parent_id == unit.id)
    grandchildren = {
        parent_id: n
        for parent_id, n in db.session.execute(
            select(Unit.parent_id, func.count(Unit.id))
            .where(Unit.parent_id.in_(child))
            .group_by(Unit.parent_id)
        )
    }
    users = {
        unit_id: n
        for unit_id, n in db.session.execute(
            select(User.unit_id, func.count(User.id))
            .where(User.unit_id.in_(child))
            .group_by(User.unit_id)
        )
    }
    children = db.session.scalars(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code))
    return [ChildSummary(c, grandchildren.get(c.id, 0), users.get(c.id, 0)) for c in children]


def user_counts(unit: Unit) -> tuple[int, int]:
    """User accounts at this unit, and at this unit and every unit below it."""
    here = db.session.scalar(select(func.count(User.id)).where(User.unit_id == unit.id)) or 0
    below = (
        db.session.scalar(
            select(func.count(User.id)).where(User.unit_id.in_(subtree_select(unit.id)))
        )
        or 0
    )
    return here, below


# --- Import -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    level: str
    parent_code: str


def _validate_rows(rows: list[UnitRow]) -> list[tuple[int, str]]:
    """Every problem in the file, each with its line number; the tree is checked as a whole."""
    errors: list[tuple[int, str]] = []
    known_levels = levels()
    existing = {
        u.code: u for u in db.session.scalars(select(Unit).where(Unit.retired_at.is_(None)))
    }
    all_codes = set(db.session.scalars(select(Unit.code)))
    seen: dict[str, UnitRow] = {}
    for row in rows:
        if not CODE_RE.match(row.code):
            errors.append((row.line, str(_l("invalid code %(code)r", code=row.code[:40]))))
        elif row.code in seen:
            errors.append(
                (
                    row.line,
                    str(
                        _l(
                            "code %(code)s repeats line %(other)d",
                            code=row.code,
                            other=seen[row.code].line,
                        )
                    ),
                )
            )
        elif row.code in all_codes:
            errors.append((row.line, str(_l("code %(code)s already exists", code=row.code))))
        else:
            seen[row.code] = row
        if not row.name or len(row.name) > 200:
            errors.append((row.line, str(_l("the name is empty or longer than 200 characters"))))
        if row.level not in known_levels:
            errors.append(
                (
                    row.line,
                    str(
                        _l(
                            "unknown level %(level)r (known: %(known)s)",
                            level=row.level[:40],
                            known=", ".join(known_levels),
                        )
                    ),
                )
            )
    for row in rows:
        if row.level not in known_levels:
            continue
        if not row.parent_code:
            if known_levels.index(row.level) != 0:
                errors.append((row.line, str(_l("only a top-level unit may have no parent"))))
            continue
        if row.parent_code == row.code:
            errors.append((row.line, str(_l("a unit cannot be its own parent"))))
            continue
        parent_level = None
        if row.parent_code in seen:
            parent_level = seen[row.parent_code].level
        elif row.parent_code in existing:
            parent_level = existing[row.parent_code].level
        else:
            errors.append(
                (row.line, str(_l("parent %(code)s not found", code=row.parent_code[:40])))
            )
            continue
        if parent_level in known_levels and known_levels.index(parent_level) >= known_levels.index(
            row.level
        ):
            errors.append((row.line, str(_l("the parent must be of a higher level"))))
    errors.sort()
    return errors


def parse_csv(text: str) -> tuple[list[UnitRow], list[tuple[int, str]]]:
    # newline="": the csv module reads line breaks itself (a lone carriage return included).
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[UnitRow] = []
    errors: list[tuple[int, str]] = []
    expected = ["code", "name", "level", "parent_code"]
    try:
        header = next(reader, None)
        if header is None or [h.strip().lower().lstrip("\ufeff") for h in header] != expected:
            return [], [(1, str(_l("the first line must be: code,name,level,parent_code")))]
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != 4:
                errors.append((line, str(_l("expected 4 columns, found %(n)d", n=len(record)))))
                continue
            code, name, level, parent = (cell.strip() for cell in record)
            rows.append(UnitRow(line, code, " ".join(name.split()), level, parent))
    except csv.Error:
        # A quote left open, a field longer than the csv module reads: the file stops being CSV.
        message = _l("this line is not valid CSV (a quote or a very long field)")
        return [], [*errors, (max(reader.line_num, 1), str(message))]
    return rows, errors


def import_rows(actor: User | None, rows: list[UnitRow]) -> ImportReport:
    """Create all rows, parents first, or none of them when any row is bad."""
    report = ImportReport(errors=_validate_rows(rows))
    if not report.ok:
        return report
    by_code = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.retired_at.is_(None)))}
    pending = list(rows)
    while pending:
        progressed = []
        for row in pending:
            parent = by_code.get(row.parent_code) if row.parent_code else None
            if row.parent_code and parent is None:
                continue
            unit = Unit(code=row.code, name=row.name, level=row.level, parent=parent)
            db.session.add(unit)
            by_code[row.code] = unit
            progressed.append(row)
        if not progressed:  # a cycle inside the file: the validation above rules it out
            report.errors.append((pending[0].line, str(_l("the parents form a cycle"))))
            return report
        pending = [r for r in pending if r not in progressed]
        report.created += len(progressed)
    db.session.flush()
    audit.record(actor, Tag.UNIT_IMPORT, None, object_type="unit", created=report.created)
    return report


def import_csv(actor: User | None, text: str) -> ImportReport:
    rows, errors = parse_csv(text)
    if errors:
        return ImportReport(errors=errors + _validate_rows(rows))
    return import_rows(actor, rows)


def official_rows(central_code: str = "TW") -> list[UnitRow]:
    """Central → 34 provinces → 3,321 communes, from the vietnam-provinces package."""
    from vietnam_provinces import Province, Ward

    rows: list[UnitRow] = []
    existing_central = db.session.scalar(select(Unit).where(Unit.code == central_code))
    if existing_central is None:
        rows.append(UnitRow(0, central_code, "Trung ương Hội LHPN Việt Nam", "central", ""))
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        pcode = f"{int(province.code):02d}"
        rows.append(UnitRow(0, pcode, f"Hội LHPN {province.name}", "province", central_code))
    for ward in sorted(Ward.iter_all(), key=lambda w: int(w.code)):
        rows.append(
            UnitRow(
                0,
                f"{int(ward.code):05d}",
                f"Hội LHPN {ward.name}",
                "commune",
                f"{int(ward.province_code):02d}",
            )
        )
    return rows


def import_official(actor: User | None) -> ImportReport:
    """Load the national tree; units whose code already exists are left as they are."""
    existing = set(db.session.scalars(select(Unit.code)))
    rows = [r for r in official_rows() if r.code not in existing]
    if not rows:
        return ImportReport()
    return import_rows(actor, rows)
