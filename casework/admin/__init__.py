"""Administration: units, users and the permission matrix. Admins see no case content here."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
