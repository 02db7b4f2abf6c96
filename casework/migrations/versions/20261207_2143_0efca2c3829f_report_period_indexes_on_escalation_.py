"""Escalations, referrals and services indexed by their time: a report counts a period's rows from
these indexes instead of walking every case of the report's units to find them

Revision ID: 0efca2c3829f
Revises: d01feb02aba6
Create Date: 2026-12-07 21:43:58.863561

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0efca2c3829f"
down_revision = "d01feb02aba6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_escalation_requested_at", "escalation", ["requested_at"])
    op.create_index("ix_referral_sent_at", "referral", ["sent_at"])
    op.create_index("ix_support_ended_on", "support", ["ended_on"])


def downgrade():
    op.drop_index("ix_support_ended_on", table_name="support")
    op.drop_index("ix_referral_sent_at", table_name="referral")
    op.drop_index("ix_escalation_requested_at", table_name="escalation")
