"""Referral endpoints. The referring side (under a case) needs the case's permissions; the partner's
side (/partner/…) needs Permission.REFERRAL_WORK on the referral, so a partner's token reaches no
case, and a referral not (or no longer) hers answers 404, audited, as the portal does. Steps on a
record people change need If-Match with the version read (the web's hidden version field)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired

from casework.api import bp
from casework.api import referral_schemas as out
from casework.api.cases import _CASE_ID, _if_match, _json, _load, me
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.cases import vocab
from casework.cases.models import Person
from casework.extensions import db
from casework.policy import NotPermitted, Permission, require
from casework.referrals import delivery, packets, portal, service, stays
from casework.referrals.forms import (
    DeliveryForm,
    NoteForm,
    OutcomeForm,
    ReasonForm,
    ReferralForm,
    StayForm,
)
from casework.referrals.models import Partner, Referral, ShelterStay

_WRITE = (400, 403, 404, 409, 413, 415, 422)
_VERSIONED = (*_WRITE, 412, 428)
PARTNER_NOT_ELIGIBLE = _l("Choose an active partner that serves this case's area.")


class ApiReferralForm(ReferralForm):
    """The web's referral form. The web offers the case's people and partners as choices; here
    they are ids, and the service refuses one that is not eligible. `packet_fields` left out means
    the minimum the kind of partner needs (what the web's form ticks)."""

    person = StringField(_l("Who is referred"), validators=[DataRequired(_l("Choose a person."))])
    partner = IntegerField(
        _l("Partner organisation"), validators=[InputRequired(_l("Choose a partner."))]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services.choices = list(vocab.SERVICES.items())
        self.packet_fields.choices = list(packets.FIELD_LABELS.items())


class ApiReferralReasonForm(ReasonForm):
    """The reason for withdrawing or declining a referral (its own name in the document)."""


class ApiStayForm(StayForm):
    """A stay's moment, given with its offset (the web's form takes Vietnam's local time)."""

    at = Rfc3339Field(_l("When"), validators=StayForm.at.kwargs["validators"])


class ApiDeliveryForm(DeliveryForm):
    """One service of a referral: delivered on a day, or not delivered and why."""


def _uuid_param(name: str) -> Param:
    return Param(name, {"type": "string", "format": "uuid"}, where="path", required=True)


_REFERRAL_ID = _uuid_param("referral_id")


# --- The referring side ------------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/referrals",
    summary="The case's referrals, newest first (full readers of the case)",
    response="CaseReferralList",
    params=(_CASE_ID,),
    problems=(403, 404),
)
def list_case_referrals(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CASE_READ, case)
    return _json({"items": [out.case_referral(r) for r in portal.referrals_of(case)]})


def _invalid(field: str, message: Any) -> Problem:
    return Problem("invalid", errors={field: [str(message)]})


def _person(value: str) -> Person:
    try:
        person_id = uuid.UUID(value)
    except ValueError:
        raise _invalid("person", _l("Choose a person.")) from None
    person = db.session.get(Person, person_id)
    if person is None:
        raise _invalid("person", _l("Choose a person."))
    return person  # whether she may be referred from this case is the service's to say


@route(
    bp,
    "POST",
    "/cases/{case_id}/referrals",
    summary="Refer a victim or child to a partner (consent or legal basis, area and services "
    "are checked as on the web)",
    response="CaseReferral",
    status=201,
    form=ApiReferralForm,
    params=(_CASE_ID,),
    problems=_WRITE,
    etag=True,
)
def send_referral(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.REFERRAL_SEND, case)
    body = read_json()
    form = validated(ApiReferralForm, body)
    person = _person(form.person.data)
    wanted = form.partner.data
    # An id outside the column's range is no partner (and must not reach the database driver).
    partner = db.session.get(Partner, wanted) if 0 < wanted < 2**31 else None
    if partner is None:  # an existing one that does not serve the area: the service refuses it
        raise _invalid("partner", PARTNER_NOT_ELIGIBLE)
    fields = body.get("packet_fields")
    referral = service.send_referral(
        me(),
        case,
        person=person,
        partner=partner,
        services=form.services.data or [],
        fields=list(packets.default_fields(partner.kind)) if fields is None else fields,
        needs=form.needs.data,
        pickup_confirmed=form.pickup_confirmed.data,
    )
    return _json(out.case_referral(referral), 201, etag=referral.version)


@route(
    bp,
    "POST",
    "/referrals/{referral_id}/withdraw",
    summary="Withdraw a live referral: the partner's access ends at once",
    response="CaseReferral",
    form=ApiReferralReasonForm,
    params=(_REFERRAL_ID,),
    problems=_VERSIONED,
    etag=True,
    if_match=True,
)
def withdraw_referral(referral_id: uuid.UUID) -> Response:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        abort(404)
    require(me(), Permission.REFERRAL_SEND, referral.case)
    version = _if_match(referral)  # type: ignore[arg-type]
    form = validated(ApiReferralReasonForm, read_json())
    service.withdraw_referral(me(), referral, reason=form.reason.data, expected_version=version)
    return _json(out.case_referral(referral), etag=referral.version)


# --- The partner's side ------------------------------------------------------------------------


def _partner_referral(referral_id: uuid.UUID) -> Referral:
    """As the portal: 404 (audited) whether it does not exist, is another organisation's, was
    withdrawn, or lost its consent."""
    require(me(), Permission.REFERRAL_WORK)
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        raise NotPermitted(Permission.REFERRAL_WORK, hide=True)
    require(me(), Permission.REFERRAL_WORK, referral, hide=True)
    return referral


def _packet(referral: Referral) -> Response:
    db.session.flush()
    return _json(out.partner_referral(portal.read_packet(me(), referral)), etag=referral.version)


@route(
    bp,
    "GET",
    "/partner/referrals",
    summary="The partner organisation's referrals by stage (partners)",
    response="PartnerQueue",
    problems=(403,),
)
def partner_queue() -> Response:
    return _json(out.partner_queue(portal.portal(me())))


def _finished(referral: Referral) -> Response:
    """A declined or completed referral: its row only, as the portal's "done" list (the packet
    is no longer hers to read once the work is over)."""
    db.session.flush()
    return _json(out.finished_row(referral), etag=referral.version)


_PARTNER = {"response": "PartnerReferral", "params": (_REFERRAL_ID,), "etag": True}


@route(
    bp,
    "GET",
    "/partner/referrals/{referral_id}",
    summary="One referral as the partner sees it: the packet, notes, stays, services",
    problems=(403, 404),
    **_PARTNER,
)
def partner_referral(referral_id: uuid.UUID) -> Response:
    return _packet(_partner_referral(referral_id))


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/accept",
    summary="Take the referral on",
    problems=(403, 404, 409, 412, 428),
    if_match=True,
    **_PARTNER,
)
def partner_accept(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    service.accept_referral(me(), referral, expected_version=_if_match(referral))  # type: ignore[arg-type]
    return _packet(referral)


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/decline",
    summary="Decline the referral, with a reason (the packet is no longer readable after)",
    form=ApiReferralReasonForm,
    problems=_VERSIONED,
    if_match=True,
    **{**_PARTNER, "response": "PartnerReferralRow"},
)
def partner_decline(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    version = _if_match(referral)  # type: ignore[arg-type]
    form = validated(ApiReferralReasonForm, read_json())
    service.decline_referral(me(), referral, reason=form.reason.data, expected_version=version)
    return _finished(referral)


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/start",
    summary="Start the service",
    problems=(403, 404, 409, 412, 428),
    if_match=True,
    **_PARTNER,
)
def partner_start(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    service.start_service(me(), referral, expected_version=_if_match(referral))  # type: ignore[arg-type]
    return _packet(referral)


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/complete",
    summary="Complete the referral, with the outcome (the packet is no longer readable after)",
    form=OutcomeForm,
    problems=_VERSIONED,
    if_match=True,
    **{**_PARTNER, "response": "PartnerReferralRow"},
)
def partner_complete(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    version = _if_match(referral)  # type: ignore[arg-type]
    form = validated(OutcomeForm, read_json())
    service.complete_referral(me(), referral, outcome=form.outcome.data, expected_version=version)
    return _finished(referral)


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/notes",
    summary="Send the referring unit a note",
    status=201,
    form=NoteForm,
    problems=_WRITE,
    **_PARTNER,
)
def partner_note(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    form = validated(NoteForm, read_json())
    service.add_note(me(), referral, form.body.data)
    resp = _packet(referral)
    resp.status_code = 201
    return resp


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/services/{support_id}",
    summary="Record one service as delivered (on a day) or not delivered (with a reason); "
    "If-Match names the service's version",
    form=ApiDeliveryForm,
    problems=_VERSIONED,
    if_match=True,
    **{**_PARTNER, "params": (_REFERRAL_ID, _uuid_param("support_id"))},
)
def partner_service(referral_id: uuid.UUID, support_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    support = delivery.support_of(referral, support_id)
    if support is None:
        abort(404)
    version = _if_match(support)  # type: ignore[arg-type]
    form = validated(ApiDeliveryForm, read_json())
    delivery.record_delivery(
        me(),
        referral,
        support,
        result=form.result.data,
        on=form.on.data,
        reason=form.reason.data,
        expected_version=version,
    )
    return _packet(referral)


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/stays",
    summary="A shelter records her check-in",
    status=201,
    form=ApiStayForm,
    problems=_WRITE,
    **_PARTNER,
)
def partner_check_in(referral_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    form = validated(ApiStayForm, read_json())
    stays.check_in(me(), referral, at=form.at.data)
    resp = _packet(referral)
    resp.status_code = 201
    return resp


@route(
    bp,
    "POST",
    "/partner/referrals/{referral_id}/stays/{stay_id}/check-out",
    summary="A shelter records her check-out; If-Match names the stay's version",
    form=ApiStayForm,
    problems=_VERSIONED,
    if_match=True,
    **{**_PARTNER, "params": (_REFERRAL_ID, _uuid_param("stay_id"))},
)
def partner_check_out(referral_id: uuid.UUID, stay_id: uuid.UUID) -> Response:
    referral = _partner_referral(referral_id)
    stay = db.session.get(ShelterStay, stay_id)
    if stay is None or stay.referral_id != referral.id:
        abort(404)
    version = _if_match(stay)  # type: ignore[arg-type]
    form = validated(ApiStayForm, read_json())
    stays.check_out(me(), stay, at=form.at.data, expected_version=version)
    return _packet(referral)
