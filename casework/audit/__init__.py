"""The tamper-evident audit log."""

from casework.audit.service import record
from casework.audit.tags import Tag

__all__ = ["Tag", "record"]
