"""Which units a report covers, and under which of its direct units each one is counted.

Two groupings, because reorganisation keeps history (DESIGN.md §2): "as recorded" follows the tree as
it stands, so a retired unit's cases stay under its old parent; "under successors" counts a retired
unit's cases with the unit that took over its work (following successor links, then the successor's
place in the tree). Both are one recursive query over the unit table; no case is read here.
"""

from __future__ import annotations

from sqlalchemy import CTE, and_, case, func, or_, select, true
from sqlalchemy.orm import aliased

from casework.accounts.models import Unit
from casework.extensions import db

GROUPINGS = ("recorded", "successor")


def unit_tree(unit_id: int, grouping: str) -> CTE:
    """A CTE of (id, top): every unit counted in the report of unit_id, and the direct unit of
    unit_id it is shown under (unit_id itself for its own cases)."""
    by_successor = grouping == "successor"
    tree = (
        select(Unit.id.label("id"), Unit.id.label("top"))
        .where(Unit.id == unit_id)
        .cte("report_tree", recursive=True)
    )
    x = aliased(Unit, name="below")
    # A unit that handed its work to a successor is reached through the successor only.
    by_parent = and_(x.parent_id == tree.c.id, x.successor_id.is_(None) if by_successor else true())
    joined = or_(by_parent, x.successor_id == tree.c.id) if by_successor else by_parent
    top = case((and_(tree.c.id == unit_id, by_parent), x.id), else_=tree.c.top)
    # UNION, not UNION ALL: a unit reachable twice is counted once.
    return tree.union(select(x.id, top).join(tree, joined))


def covers_everything(unit: Unit) -> bool:
    """True for the root of a single tree: its report counts every case, with no unit filter."""
    if unit.parent_id is not None:
        return False
    return db.session.scalar(select(func.count(Unit.id)).where(Unit.parent_id.is_(None))) == 1


def only_own_unit(unit_id: int, grouping: str) -> bool:
    """True when the report covers the one unit and nothing below or merged into it."""
    tree = unit_tree(unit_id, grouping)
    return db.session.scalar(select(func.count()).select_from(tree)) == 1
