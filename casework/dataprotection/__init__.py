"""Data protection operations (DESIGN.md §7, DOMAIN.md "Personal data protection"): the register
of data-subject requests with their safety review, access export and erasure, and the register of
personal-data breaches with the 72-hour notification deadline."""

from flask import Blueprint

bp = Blueprint("dataprotection", __name__)
