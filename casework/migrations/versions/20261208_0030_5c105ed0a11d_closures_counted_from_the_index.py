"""A subtree's closures of a period counted from the index: the owning unit's index on the closing
time also holds the status and the closure outcome

Revision ID: 5c105ed0a11d
Revises: 0efca2c3829f
Create Date: 2026-12-08 00:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5c105ed0a11d"
down_revision = "0efca2c3829f"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_case_file_owning_closed", table_name="case_file")
    op.create_index(
        "ix_case_file_owning_closed",
        "case_file",
        ["owning_unit_id", "closed_at", "status", "closure_outcome"],
    )


def downgrade():
    op.drop_index("ix_case_file_owning_closed", table_name="case_file")
    op.create_index("ix_case_file_owning_closed", "case_file", ["owning_unit_id", "closed_at"])
