"""Staff accounts, units, sign-in and the second factor."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
