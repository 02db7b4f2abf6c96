"""A unit's ancestors: nearest first, as the session sees the tree, in at most one query."""

from __future__ import annotations

import gc

from sqlalchemy import select

from casework.accounts.models import Unit
from casework.extensions import db
from tests.conftest import make_tree, make_unit, sql_sent


def _fresh(code: str) -> Unit:
    db.session.commit()
    db.session.expunge_all()
    return db.session.scalars(select(Unit).where(Unit.code == code)).one()


def test_a_communes_ancestors_are_read_nearest_first_in_one_query(ctx):  # type: ignore[no-untyped-def]
    make_tree()
    c1 = _fresh("C1")
    with sql_sent() as sent:
        codes = [u.code for u in c1.ancestors()]
    assert codes == ["D1", "HY", "TW"]
    assert len(sent) == 1
    # Linked from the commune up, as lazy loads would have left them: asking again, with nothing
    # else holding the units read, reads nothing.
    gc.collect()
    with sql_sent() as again:
        assert [u.code for u in c1.ancestors()] == ["D1", "HY", "TW"]
        assert [u.code for u in c1.parent.ancestors()] == ["HY", "TW"]
    assert again == []


def test_ancestors_the_session_holds_are_not_read_again(ctx):  # type: ignore[no-untyped-def]
    make_tree()
    c1 = _fresh("C1")
    d1 = db.session.scalars(select(Unit).where(Unit.code == "D1")).one()
    with sql_sent() as sent:
        chain = c1.ancestors()
    assert chain[0] is d1 and [u.code for u in chain] == ["D1", "HY", "TW"]
    assert len(sent) == 1  # HY and TW, in one query


def test_a_move_not_yet_saved_is_what_ancestors_follow(ctx):  # type: ignore[no-untyped-def]
    tree = make_tree()
    other = make_unit("HN", "province", tree["TW"])
    db.session.commit()
    d1 = tree["D1"]
    d1.parent = other  # not flushed: parent_id still names HY
    assert [u.code for u in tree["C1"].ancestors()] == ["D1", "HN", "TW"]


def test_the_root_has_no_ancestors(ctx):  # type: ignore[no-untyped-def]
    make_tree()
    assert _fresh("TW").ancestors() == []
