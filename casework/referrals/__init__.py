"""Referrals to partners and the partner portal (DESIGN.md §5): officers refer from the case file
(/cases/<id>/referrals…), partner staff work their organisation's referrals (/partner…)."""

from flask import Blueprint

bp = Blueprint("referrals", __name__)
