"""The tamper-evident audit log."""

from flask import Blueprint

from casework.audit.service import record
from casework.audit.tags import Tag

bp = Blueprint("audit", __name__)

__all__ = ["Tag", "bp", "record"]
