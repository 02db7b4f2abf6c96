"""Importing the unit tree: the official national list, or any CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from casework.accounts import units
from casework.accounts.models import Unit
from casework.extensions import db
from tests.conftest import make_unit

GOOD = """code,name,level,parent_code
HN,Hội LHPN thành phố Hà Nội,province,TW
HN-BD,Hội LHPN phường Ba Đình,commune,HN
HN-HK,Hội LHPN phường Hoàn Kiếm,commune,HN
"""


def _count() -> int:
    return db.session.scalar(select(func.count(Unit.id))) or 0


def test_a_good_csv_creates_the_tree(ctx):
    make_unit("TW", "central")
    report = units.import_csv(None, GOOD)
    db.session.commit()
    assert report.ok and report.created == 3
    ba_dinh = db.session.scalar(select(Unit).where(Unit.code == "HN-BD"))
    assert ba_dinh.parent.code == "HN" and ba_dinh.parent.parent.code == "TW"
    assert ba_dinh.name == "Hội LHPN phường Ba Đình"


def test_children_may_come_before_their_parent_in_the_file(ctx):
    make_unit("TW", "central")
    lines = GOOD.splitlines()
    reordered = "\n".join([lines[0], lines[3], lines[2], lines[1]])
    report = units.import_csv(None, reordered)
    assert report.ok and report.created == 3


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(ctx):
    make_unit("TW", "central")
    bad = (
        "code,name,level,parent_code\n"
        "HN,Hà Nội,province,TW\n"  # line 2: fine
        "HN,Hà Nội again,province,TW\n"  # line 3: repeats line 2
        "X1,,commune,HN\n"  # line 4: no name
        "X2,Xã Hai,hamlet,HN\n"  # line 5: unknown level
        "X3,Xã Ba,commune,NOPE\n"  # line 6: parent missing
        "X4,Xã Bốn,province,HN\n"  # line 7: parent not higher
        "bad code!,Xã Năm,commune,HN\n"  # line 8: invalid code
        "X6,Xã Sáu,commune\n"  # line 9: three columns
    )
    before = _count()
    report = units.import_csv(None, bad)
    assert not report.ok
    lines = sorted({line for line, _ in report.errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    db.session.rollback()
    assert _count() == before


def test_a_code_that_already_exists_is_refused(ctx):
    tw = make_unit("TW", "central")
    make_unit("HN", "province", tw)
    report = units.import_csv(None, GOOD)
    assert [line for line, _ in report.errors] == [2]


def test_a_file_without_the_header_is_refused(ctx):
    report = units.import_csv(None, "HN,Hà Nội,province,TW\n")
    assert report.errors and report.errors[0][0] == 1


def test_official_import_loads_central_34_provinces_and_3321_communes(ctx):
    report = units.import_official(None)
    db.session.commit()
    assert report.ok
    by_level = dict(
        db.session.execute(select(Unit.level, func.count(Unit.id)).group_by(Unit.level)).all()
    )
    assert by_level == {"central": 1, "province": 34, "commune": 3321}
    hoan_kiem = db.session.scalar(select(Unit).where(Unit.name.like("%Hoàn Kiếm%")))
    assert hoan_kiem.level == "commune" and hoan_kiem.parent.parent.code == "TW"
    # Running it again changes nothing.
    again = units.import_official(None)
    assert again.ok and again.created == 0


def test_cli_import_reports_bad_lines_and_exits_nonzero(app, tmp_path: Path):
    with app.app_context():
        make_unit("TW", "central")
    path = tmp_path / "units.csv"
    path.write_text("code,name,level,parent_code\nHN,Hà Nội,province,NOPE\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["units", "import", str(path)])
    assert result.exit_code == 1
    assert "dòng 2" in result.output
    with app.app_context():
        assert _count() == 1


def test_cli_import_of_a_good_file(app, tmp_path: Path):
    with app.app_context():
        make_unit("TW", "central")
    path = tmp_path / "units.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 3 đơn vị." in result.output
