"""Demo cases: a handful of invented files at every stage of the workflow, recorded through the same
services as the web pages (so each is audited and encrypted like a real one). Development only.

Every name, phone number and story here is made up.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casework.accounts.models import User
from casework.cases import consent
from casework.cases import service as cases
from casework.cases.models import Case
from casework.cases.workflow import requests
from casework.cases.workflow import service as workflow
from casework.db import utcnow
from casework.extensions import db
from casework.referrals import packets
from casework.referrals import service as referrals
from casework.referrals.models import Partner, PartnerKind


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _open(officer: User, hours_ago: int, **intake: object) -> Case:
    result = cases.open_case(officer, received_at=utcnow() - timedelta(hours=hours_ago), **intake)  # type: ignore[arg-type]
    return result.case


def _classify(officer: User, case: Case, severity: str, risk: str) -> None:
    cases.classify(
        officer,
        case,
        expected_version=case.version,
        types=list(case.type_codes),
        severity=severity,
        risk=risk,
        gbv_type=None,
    )


def load() -> int:
    """Record the demo cases unless the demo units already hold some; returns how many were made."""
    if db.session.scalar(select(func.count()).select_from(Case)):
        return 0
    lh, mh, dt = _user("officer.lh"), _user("officer.mh"), _user("officer.dt")

    # 1. Just received at a commune, not yet classified.
    _open(
        lh,
        2,
        source="hotline_111",
        types=["domestic_violence"],
        summary="Hàng xóm báo nghe tiếng cãi vã và đập phá đồ đạc nhiều đêm liền.",
        victim_name="Trần Thị Mơ",
        victim_phone="0912 000 101",
        safe_contact="Gọi sau 9 giờ sáng, khi chồng đi làm.",
    )

    # 2. Serious (S3): classified, quick report sent to the district, referred to legal aid.
    serious = _open(
        lh,
        30,
        source="victim",
        types=["domestic_violence"],
        summary="Chị bị chồng đánh gây thương tích ở tay, đã đến trạm y tế xã.",
        victim_name="Lê Thị Hạnh",
        victim_phone="0912 000 202",
        safe_contact="Nhắn tin qua em gái.",
        injuries=True,
    )
    _classify(lh, serious, "S3", "high")
    workflow.send_quick_report(
        lh, serious, "Nạn nhân bị thương nhẹ, đang ở nhà mẹ đẻ; đã báo công an xã."
    )
    victim = serious.people[0]
    consent.give_consent(
        lh,
        serious,
        subject=victim,
        purposes=["record", "refer_legal_aid", "contact_phone"],
        given_by="victim",
        method="written",
        given_at=utcnow() - timedelta(hours=20),
    )
    legal_aid = db.session.scalars(
        select(Partner).where(Partner.kind == PartnerKind.LEGAL_AID.value)
    ).first()
    if legal_aid is not None:
        referrals.send_referral(
            lh,
            serious,
            person=victim,
            partner=legal_aid,
            services=["legal_aid"],
            fields=list(packets.default_fields(legal_aid.kind)),
            needs="Tư vấn thủ tục ly hôn và quyền nuôi con.",
        )

    # 3. Beyond the commune: escalation to the district requested.
    beyond = _open(
        mh,
        50,
        source="branch",
        types=["child_abuse"],
        summary="Cháu gái 12 tuổi bị cha dượng đánh, bỏ học hai tuần nay.",
        victim_name="Phạm Ngọc Ánh",
        safe_contact="Liên hệ qua cô giáo chủ nhiệm.",
        victim_sex="female",
        child_involved=True,
    )
    _classify(mh, beyond, "S3", "high")
    workflow.request_escalation(
        mh, beyond, "Cần phối hợp với phòng Lao động - TBXH huyện và công an huyện."
    )

    # 4. Handled and waiting for the district to approve its closure.
    done = _open(
        mh,
        24 * 40,
        source="citizen_reception",
        types=["family_dispute"],
        summary="Mâu thuẫn về chia tài sản sau khi chồng mất; đã hoà giải thành.",
        victim_name="Đỗ Thị Lành",
    )
    _classify(mh, done, "S1", "low")
    workflow.request_closure(mh, done, "resolved", "Hai bên đã thống nhất chia tài sản tại xã.")

    # 5. A second district: one routine case, closed.
    closed = _open(
        dt,
        24 * 60,
        source="victim",
        types=["labour_rights"],
        summary="Bị nợ lương ba tháng ở xưởng may.",
        victim_name="Vũ Thị Hoa",
    )
    _classify(dt, closed, "S1", "low")
    request = workflow.request_closure(dt, closed, "needs_met", "Chủ xưởng đã trả đủ lương.")
    workflow.approve_closure(_user("reviewer.kc"), request, "Đồng ý kết thúc.")

    # 6. Taken up by the district, which asked the commune that knows the family to visit.
    moved = _open(
        lh,
        72,
        source="police",
        types=["domestic_violence"],
        summary="Chồng đe doạ giết, công an xã đã lập biên bản; chị đang ở nhà người quen.",
        victim_name="Ngô Thị Duyên",
        safe_contact="Gọi vào buổi trưa.",
    )
    _classify(lh, moved, "S3", "high")
    district = _user("reviewer.vl")
    workflow.accept_escalation(
        district, workflow.request_escalation(lh, moved, "Đối tượng có vũ khí, cần huyện chỉ đạo.")
    )
    requests.ask(
        district,
        moved,
        unit_id=lh.unit_id,
        what="Đến thăm chị trong hôm nay, kiểm tra nơi ở tạm có an toàn không và báo lại.",
        due_at=utcnow() + timedelta(hours=20),
    )
    return 6
