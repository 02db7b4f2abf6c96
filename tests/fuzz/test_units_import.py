"""The unit importer (`casework units import file.csv`) under hostile files: any text gets a report,
never a crash; a file with bad rows names each bad row by its line and imports nothing; a file that
is not UTF-8 is refused with a message. (The unit CSV is the only file importer: the API takes JSON,
and the official tree comes from a package.)"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.accounts import units
from casework.accounts.models import Unit
from casework.extensions import db
from tests.fuzz.harness import ANY_TEXT, LIMITS

HEADER = "code,name,level,parent_code"


def unit_count() -> int:
    return db.session.scalar(select(func.count(Unit.id))) or 0


def good_rows(n: int) -> list[list[str]]:
    """central → two provinces → communes, each row after its parent."""
    rows = [["TW", "Trung ương", "central", ""], ["P1", "Tỉnh Một", "province", "TW"]]
    rows.append(["P2", "Tỉnh Hai", "province", "TW"])
    rows += [[f"X{i}", f"Xã {i}", "commune", "P1" if i % 2 else "P2"] for i in range(n)]
    return rows


def as_csv(rows: list[list[str]]) -> str:
    return "\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n"


# Ways to spoil one row; each makes that very row wrong whatever the others hold.
SPOIL = {
    "bad code": lambda r: ["bad code!", *r[1:]],
    "empty name": lambda r: [r[0], "", *r[2:]],
    "long name": lambda r: [r[0], "n" * 201, *r[2:]],
    "unknown level": lambda r: [*r[:2], "hamlet", r[3]],
    "no parent": lambda r: [*r[:3], "NOWHERE"],
    "own parent": lambda r: [*r[:3], r[0]],
    "three columns": lambda r: r[:3],
    "five columns": lambda r: [*r, "extra"],
    "repeated code": lambda r: ["TW", *r[1:]],
}


@LIMITS
@given(text=st.one_of(ANY_TEXT, st.lists(ANY_TEXT, max_size=8).map("\n".join)))
def test_any_text_gets_a_report_and_a_refusal_imports_nothing(ctx, text):  # type: ignore[no-untyped-def]
    before = unit_count()
    for body in (text, f"{HEADER}\n{text}"):
        report = units.import_csv(None, body)
        if report.ok:
            assert unit_count() >= before
        else:
            assert unit_count() == before, "a refused file imported units"
            assert all(isinstance(line, int) and line >= 1 for line, _ in report.errors)
            assert all(message for _, message in report.errors)
        db.session.rollback()


@LIMITS
@given(
    n=st.integers(min_value=1, max_value=12),
    spoiled=st.dictionaries(
        st.integers(min_value=3, max_value=14), st.sampled_from(sorted(SPOIL)), min_size=1
    ),
)
def test_every_bad_row_is_named_by_its_line_and_nothing_is_imported(ctx, n, spoiled):  # type: ignore[no-untyped-def]
    rows = good_rows(n)
    bad_lines = set()
    for index, how in spoiled.items():
        if index < len(rows):
            rows[index] = SPOIL[how](rows[index])
            bad_lines.add(index + 2)  # line 1 is the header
    if not bad_lines:
        rows[-1] = SPOIL["unknown level"](rows[-1])
        bad_lines.add(len(rows) + 1)
    report = units.import_csv(None, as_csv(rows))
    reported = {line for line, _ in report.errors}
    assert not report.ok
    assert bad_lines <= reported, f"rows {sorted(bad_lines - reported)} not reported"
    assert reported <= set(range(1, len(rows) + 2)), "a line that is not in the file"
    assert unit_count() == 0
    db.session.rollback()
    assert unit_count() == 0


def test_a_good_file_imports_every_row(ctx):  # type: ignore[no-untyped-def]
    report = units.import_csv(None, as_csv(good_rows(5)))
    assert report.ok and report.created == 8
    db.session.commit()
    assert unit_count() == 8


@LIMITS
@given(blob=st.binary(min_size=1, max_size=300))
def test_the_command_answers_any_file_with_a_message_never_a_traceback(app, tmp_path, blob):  # type: ignore[no-untyped-def]
    path = Path(tmp_path) / "units.csv"
    path.write_bytes(HEADER.encode() + b"\n" + blob)
    result = app.test_cli_runner().invoke(args=["units", "import", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        # In Vietnamese, the default language: "nothing was imported" or "cannot read".
        assert "không nhập đơn vị nào" in result.output or "không đọc được" in result.output
        with app.app_context():
            assert unit_count() == 0
    else:
        assert "Đã nhập" in result.output and "đơn vị." in result.output
        with app.app_context():
            db.session.execute(Unit.__table__.delete())
            db.session.commit()
