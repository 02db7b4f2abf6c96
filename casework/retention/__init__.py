"""Retention of closed cases, legal holds, the retention report and the processing register."""

from flask import Blueprint

bp = Blueprint("retention", __name__)
