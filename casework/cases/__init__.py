"""The case file: intake, people, consent, classification, assessments, actions, support."""

from flask import Blueprint

bp = Blueprint("cases", __name__)
