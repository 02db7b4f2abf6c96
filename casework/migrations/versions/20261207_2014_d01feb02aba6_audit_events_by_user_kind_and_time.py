"""Audit events by user, kind and time: the search's rate limit counts a user's recent searches from
one index range, however many events the user has; the index on the user alone is replaced by it

Revision ID: d01feb02aba6
Revises: 46c8bba05bcc
Create Date: 2026-12-07 20:14:17.060156

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d01feb02aba6"
down_revision = "46c8bba05bcc"
branch_labels = None
depends_on = None


def upgrade():
    # The new index first: lookups by user keep an index throughout.
    op.create_index("ix_audit_event_actor_tag_at", "audit_event", ["actor_id", "tag", "at"])
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")


def downgrade():
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
    op.drop_index("ix_audit_event_actor_tag_at", table_name="audit_event")
