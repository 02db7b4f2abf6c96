"""Reports (DESIGN.md §8): aggregate figures for a unit's subtree and a period, their charts and
exports, the home-page dashboards, and the de-identified national export."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
