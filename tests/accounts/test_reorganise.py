"""`casework units reorganise MAPPING.csv [--dry-run]`: open cases follow the unit's successor with
an audited event, closed cases keep their unit, accounts are moved or deactivated as the file says;
the dry run changes nothing, and the real run does exactly what the dry run printed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from casework.accounts.models import Unit, User
from casework.audit.models import AuditEvent
from casework.cases import service as cases
from casework.cases.models import Case
from casework.cases.workflow import service as wf
from casework.extensions import db
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)
from tests.conftest import CANARY, get_user

MAPPING = """old_code,new_code,effective_date,users
D1,HY,2025-07-01,move
C1,C2,2025-07-01,deactivate
"""


def _closed_case(org):  # type: ignore[no-untyped-def]  # noqa: F811
    officer = org["officer_c1"]
    case = open_case(officer)
    cases.classify(
        officer,
        case,
        expected_version=case.version,
        types=["domestic_violence.physical"],
        severity="S2",
        risk="low",
        gbv_type=None,
    )
    request = wf.request_closure(officer, case, "resolved", "Violence stopped; victim safe.")
    wf.approve_closure(org["reviewer_d1"], request)
    db.session.commit()
    return case


def _state() -> dict[str, object]:
    """Everything the reorganisation may touch, as plain values."""
    db.session.expire_all()
    return {
        "units": sorted(
            (u.code, u.parent_id, u.retired_at is not None, u.successor_id)
            for u in db.session.scalars(select(Unit))
        ),
        "users": sorted(
            (u.username, u.unit_id, u.active) for u in db.session.scalars(select(User))
        ),
        "cases": sorted(
            (str(c.id), c.owning_unit_id, c.handling_unit_id, c.status)
            for c in db.session.scalars(select(Case))
        ),
        "events": db.session.scalar(select(func.count(AuditEvent.seq))),
    }


def _run(app, path: Path, *extra: str):  # type: ignore[no-untyped-def]
    db.session.commit()
    return app.test_cli_runner().invoke(args=["units", "reorganise", str(path), *extra])


def test_the_dry_run_changes_nothing_and_the_real_run_matches_it(app, org, tmp_path):  # noqa: F811
    open_at_c1 = open_case(org["officer_c1"])
    closed_at_c1 = _closed_case(org)
    open_at_c2 = open_case(org["officer_c2"])
    path = tmp_path / "mapping.csv"
    path.write_text(MAPPING, encoding="utf-8")
    before = _state()

    dry = _run(app, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert _state() == before
    assert "Chạy thử: không có gì bị thay đổi." in dry.output
    assert (
        "C1 → C2 (hiệu lực từ 2025-07-01): 1 vụ việc đang mở được chuyển, "
        "1 vụ việc đã kết thúc giữ nguyên" in dry.output
    )
    assert "1 tài khoản được chuyển sang HY" in dry.output  # reviewer.d1
    assert "1 tài khoản bị vô hiệu hóa, không chuyển sang C2" in dry.output  # officer.c1

    real = _run(app, path)
    assert real.exit_code == 0, real.output
    assert real.output.replace("Đã xong.\n", "") == dry.output.replace(
        "Chạy thử: không có gì bị thay đổi.\n", ""
    )
    db.session.expire_all()
    c1, c2, d1, hy = (
        db.session.scalar(select(Unit).where(Unit.code == c)) for c in ("C1", "C2", "D1", "HY")
    )
    assert d1.is_retired and d1.successor_id == hy.id
    assert c1.is_retired and c1.successor_id == c2.id and c1.parent_id == hy.id
    moved = db.session.get(Case, open_at_c1.id)
    assert (moved.owning_unit_id, moved.handling_unit_id) == (c2.id, c2.id)
    kept = db.session.get(Case, closed_at_c1.id)
    assert (kept.owning_unit_id, kept.handling_unit_id) == (c1.id, c1.id)
    untouched = db.session.get(Case, open_at_c2.id)
    assert untouched.handling_unit_id == c2.id
    assert get_user("reviewer.d1").unit_id == hy.id and get_user("reviewer.d1").active
    assert not get_user("officer.c1").active
    succession = list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag == "workflow:case:unit_succession")
        )
    )
    assert [e.object_id for e in succession] == [str(open_at_c1.id)]
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.seq)).where(AuditEvent.tag == "admin:unit:reorganise")
        )
        == 2
    )


def test_the_successor_staff_now_work_the_moved_case(app, org, tmp_path):  # noqa: F811
    from casework.policy import Permission, can

    case = open_case(org["officer_c1"])
    path = tmp_path / "mapping.csv"
    path.write_text(MAPPING, encoding="utf-8")
    assert not can(org["officer_c2"], Permission.CASE_EDIT, case)
    assert _run(app, path).exit_code == 0
    db.session.expire_all()
    assert can(get_user("officer.c2"), Permission.CASE_EDIT, db.session.get(Case, case.id))


def test_a_bad_file_reports_every_line_and_changes_nothing(app, org, tmp_path):  # noqa: F811
    open_case(org["officer_c1"])
    path = tmp_path / "mapping.csv"
    path.write_text(
        "old_code,new_code,effective_date,users\n"
        "D1,HY,2025-07-01,move\n"  # fine on its own
        "C1,NOPE,2025-07-01,move\n"  # unknown successor
        "C2,C2,2025-13-01,keep\n"  # itself, bad date, bad users action
        "D2,C2,2099-01-01,move\n",  # below itself, in the future
        encoding="utf-8",
    )
    before = _state()
    for extra in ((), ("--dry-run",)):
        result = _run(app, path, *extra)
        assert result.exit_code == 1
        assert "dòng 3" in result.output and "dòng 4" in result.output and "dòng 5" in result.output
        assert "dòng 3: không tìm thấy đơn vị 'NOPE'" in result.output
        assert "dòng 4: một đơn vị không thể tự kế thừa chính nó" in result.output
        assert "dòng 5: ngày hiệu lực ở tương lai" in result.output
        assert "lỗi; không có gì bị thay đổi" in result.output
        assert _state() == before


def test_what_waits_on_a_merged_unit_reaches_its_successor(app, org, tmp_path):  # noqa: F811
    """D1 merges into HY: what waited for D1's answer now waits for HY's, what D1 itself asked of
    HY is withdrawn (HY now handles those cases), and D1's quick reports reach HY's inbox."""
    from casework.cases.workflow.models import Escalation
    from casework.policy import Permission, can
    from tests.cases.conftest import classified_case

    officer, reviewer_d1, reviewer_hy = org["officer_c1"], org["reviewer_d1"], org["reviewer_hy"]
    waiting = classified_case(officer)  # C1 asks D1 to take it over
    to_d1 = wf.request_escalation(officer, waiting, "The perpetrator is a commune official")
    reported = classified_case(officer)  # its quick report goes to D1
    report = wf.send_quick_report(officer, reported, "Injured; police informed.")
    handed = classified_case(officer)  # D1 handles it and asks HY to take it over
    wf.accept_escalation(reviewer_d1, wf.request_escalation(officer, handed, "Help"))
    from_d1 = wf.request_escalation(reviewer_d1, handed, "Needs the province")
    db.session.commit()
    assert not can(reviewer_hy, Permission.ESCALATION_ANSWER, to_d1)
    assert report not in wf.received_quick_reports(reviewer_hy)
    path = tmp_path / "mapping.csv"
    path.write_text("old_code,new_code,effective_date,users\nD1,HY,2025-07-01,move\n", "utf-8")

    assert _run(app, path).exit_code == 0
    db.session.expire_all()
    hy = org["HY"]
    to_d1, from_d1 = db.session.get(Escalation, to_d1.id), db.session.get(Escalation, from_d1.id)
    assert (to_d1.status, to_d1.to_unit_id) == ("pending", hy.id)
    assert can(reviewer_hy, Permission.ESCALATION_ANSWER, to_d1)
    assert from_d1.status == "withdrawn" and from_d1.from_unit_id != from_d1.to_unit_id
    assert wf.pending_escalation(db.session.get(Case, handed.id)) is None
    assert report in wf.received_quick_reports(reviewer_hy)
    rerouted = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "workflow:case:unit_succession",
            AuditEvent.object_type != "case_file",
        )
    ).all()
    assert sorted(e.object_type for e in rerouted) == [
        "escalation",
        "escalation",
        "quick_report_delivery",
    ]
    assert CANARY not in " ".join(e.details for e in rerouted)

    # HY answers the escalation that was waiting for D1.
    wf.accept_escalation(reviewer_hy, to_d1)
    db.session.commit()
    assert db.session.get(Case, waiting.id).handling_unit_id == hy.id
