"""Decision 2605 workflow: status changes, quick reports, escalation, closure, deadlines, inbox."""

from flask import Blueprint

bp = Blueprint("workflow", __name__)
