"""case file workflow referrals

Revision ID: 0a9da25a920b
Revises: c2c7b0de0002
Create Date: 2026-11-29 13:28:05.908351

"""
from alembic import op
import sqlalchemy as sa

import casework.crypto.fields
import casework.db


# revision identifiers, used by Alembic.
revision = '0a9da25a920b'
down_revision = 'c2c7b0de0002'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('case_counter',
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_case_counter'))
    )
    op.create_table('case_file',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('received_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('owning_unit_id', sa.Integer(), nullable=False),
    sa.Column('handling_unit_id', sa.Integer(), nullable=False),
    sa.Column('place_unit_id', sa.Integer(), nullable=True),
    sa.Column('assigned_to_id', sa.Integer(), nullable=True),
    sa.Column('reporter_relation', sa.String(length=32), nullable=True),
    sa.Column('immediate_danger', sa.Boolean(), nullable=False),
    sa.Column('child_involved', sa.Boolean(), nullable=False),
    sa.Column('injuries', sa.Boolean(), nullable=False),
    sa.Column('sexual_violence', sa.Boolean(), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=True),
    sa.Column('risk', sa.String(length=16), nullable=True),
    sa.Column('gbv_type', sa.String(length=32), nullable=True),
    sa.Column('classified_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closure_outcome', sa.String(length=32), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('summary', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('reporter_name', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('reporter_contact', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.CheckConstraint("risk IS NULL OR risk IN ('low', 'medium', 'high', 'imminent')", name=op.f('ck_case_file_known_risk')),
    sa.CheckConstraint("severity IS NULL OR severity IN ('S1', 'S2', 'S3', 'S4')", name=op.f('ck_case_file_known_severity')),
    sa.CheckConstraint("status IN ('open', 'active', 'monitoring', 'closure_requested', 'closed')", name=op.f('ck_case_file_known_status')),
    sa.ForeignKeyConstraint(['assigned_to_id'], ['user_account.id'], name=op.f('fk_case_file_assigned_to_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['unit.id'], name=op.f('fk_case_file_handling_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owning_unit_id'], ['unit.id'], name=op.f('fk_case_file_owning_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['place_unit_id'], ['unit.id'], name=op.f('fk_case_file_place_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], name=op.f('fk_case_file_received_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_file')),
    sa.UniqueConstraint('code', name=op.f('uq_case_file_code'))
    )
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_file_assigned_to_id'), ['assigned_to_id'], unique=False)
        batch_op.create_index('ix_case_file_handling_received', ['handling_unit_id', 'received_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_handling_unit_id'), ['handling_unit_id'], unique=False)
        batch_op.create_index('ix_case_file_owning_received', ['owning_unit_id', 'received_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_severity'), ['severity'], unique=False)

    op.create_table('assessment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('risk', sa.String(length=16), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('findings', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('safety_plan', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_assessment_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_assessment_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    sa.UniqueConstraint('case_id', 'kind', 'number', name=op.f('uq_assessment_case_id_kind_number'))
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_case_id'), ['case_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('description', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_attachment_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_attachment_uploaded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_attachment_storage_name'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_case_id'), ['case_id'], unique=False)

    op.create_table('break_glass',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_break_glass_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_break_glass_user_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_break_glass'))
    )
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.create_index('ix_break_glass_user_case', ['user_id', 'case_id'], unique=False)

    op.create_table('case_action',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('authority', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('description', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_action_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_case_action_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['case_action.id'], name=op.f('fk_case_action_supersedes_id_case_action'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_action')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_case_action_supersedes_id'))
    )
    with op.batch_alter_table('case_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_action_case_id'), ['case_id'], unique=False)

    op.create_table('case_transition',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=False),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_case_transition_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_transition_case_id_case_file'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transition'))
    )
    with op.batch_alter_table('case_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_transition_case_id'), ['case_id'], unique=False)

    op.create_table('case_type',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_type_case_id_case_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'code', name=op.f('pk_case_type'))
    )
    with op.batch_alter_table('case_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_type_code'), ['code'], unique=False)

    op.create_table('closure_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('handling_unit_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('comment', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name=op.f('ck_closure_request_known_status')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_closure_request_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_closure_request_decided_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['unit.id'], name=op.f('fk_closure_request_handling_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_closure_request_requested_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure_request'))
    )
    with op.batch_alter_table('closure_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_request_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_closure_one_pending', ['case_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('deadline_alert',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('due_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('alerted_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_deadline_alert_case_id_case_file'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_alert'))
    )
    with op.batch_alter_table('deadline_alert', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_alert_key', ['case_id', 'kind', 'subject'], unique=True)

    op.create_table('escalation',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('to_unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('answered_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('guidance', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.CheckConstraint("kind IN ('request', 'take_over')", name=op.f('ck_escalation_known_kind')),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'returned', 'withdrawn')", name=op.f('ck_escalation_known_status')),
    sa.CheckConstraint('from_unit_id <> to_unit_id', name=op.f('ck_escalation_moves')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_escalation_answered_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_escalation_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['from_unit_id'], ['unit.id'], name=op.f('fk_escalation_from_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_escalation_requested_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['to_unit_id'], ['unit.id'], name=op.f('fk_escalation_to_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation'))
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_to_unit_id'), ['to_unit_id'], unique=False)
        batch_op.create_index('ix_escalation_from_unit_status', ['from_unit_id', 'status'], unique=False)
        batch_op.create_index('uq_escalation_one_pending', ['case_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('follow_up',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('due_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('done_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_follow_up_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_follow_up_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_due_at'), ['due_at'], unique=False)

    op.create_table('legal_basis',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('ended_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_legal_basis_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_legal_basis_recorded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_basis'))
    )
    with op.batch_alter_table('legal_basis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_basis_case_id'), ['case_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_notification_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_unread', ['user_id', 'read_at'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('age_band', sa.String(length=8), nullable=True),
    sa.Column('is_child', sa.Boolean(), nullable=True),
    sa.Column('ethnicity', sa.String(length=32), nullable=True),
    sa.Column('disability', sa.Boolean(), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('full_name', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('full_name_bidx', sa.Integer(), nullable=True),
    sa.Column('bidx_key_id', sa.String(length=64), nullable=True),
    sa.Column('aliases', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('date_of_birth', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('phone', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('phone_bidx', sa.Integer(), nullable=True),
    sa.Column('address', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('id_number', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('id_number_bidx', sa.Integer(), nullable=True),
    sa.Column('safe_contact', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.CheckConstraint("role IN ('victim', 'child', 'perpetrator', 'representative')", name=op.f('ck_person_known_role')),
    sa.CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name=op.f('ck_person_known_sex')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_person_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_person_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_bidx_key_id'), ['bidx_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_full_name_bidx'), ['full_name_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_id_number_bidx'), ['id_number_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_phone_bidx'), ['phone_bidx'], unique=False)

    op.create_table('quick_report',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('situation', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_quick_report_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['from_unit_id'], ['unit.id'], name=op.f('fk_quick_report_from_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_quick_report_sent_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['quick_report.id'], name=op.f('fk_quick_report_supersedes_id_quick_report'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quick_report'))
    )
    with op.batch_alter_table('quick_report', schema=None) as batch_op:
        batch_op.create_index('ix_quick_report_case_number', ['case_id', 'number'], unique=True)

    op.create_table('recusal',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_recusal_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_recusal_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recusal_user_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recusal')),
    sa.UniqueConstraint('user_id', 'case_id', name=op.f('uq_recusal_user_id_case_id'))
    )
    op.create_table('consent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('given_by', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('given_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('withdrawn_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.Uuid(), nullable=True),
    sa.Column('substitute_reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_consent_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_consent_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_consent_recorded_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['representative_id'], ['person.id'], name=op.f('fk_consent_representative_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_recorded_by_id'], ['user_account.id'], name=op.f('fk_consent_withdrawn_recorded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_case_id'), ['case_id'], unique=False)

    op.create_table('person_relationship',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('other_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.CheckConstraint('person_id <> other_id', name=op.f('ck_person_relationship_not_self')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_person_relationship_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['other_id'], ['person.id'], name=op.f('fk_person_relationship_other_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_relationship_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_relationship')),
    sa.UniqueConstraint('person_id', 'other_id', name=op.f('uq_person_relationship_person_id_other_id'))
    )
    with op.batch_alter_table('person_relationship', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_relationship_case_id'), ['case_id'], unique=False)

    op.create_table('quick_report_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('delivered_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('forwarded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['forwarded_by_id'], ['user_account.id'], name=op.f('fk_quick_report_delivery_forwarded_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['report_id'], ['quick_report.id'], name=op.f('fk_quick_report_delivery_report_id_quick_report'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_quick_report_delivery_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quick_report_delivery'))
    )
    with op.batch_alter_table('quick_report_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_qr_delivery_report_unit', ['report_id', 'unit_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_quick_report_delivery_unit_id'), ['unit_id'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('services', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sent_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.Column('answer_due_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('decline_reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('outcome', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.Column('withdraw_reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'accepted', 'declined', 'in_service', 'completed', 'withdrawn')", name=op.f('ck_referral_known_status')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_referral_answered_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_referral_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['from_unit_id'], ['unit.id'], name=op.f('fk_referral_from_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_referral_partner_id_partner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_referral_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_referral_sent_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user_account.id'], name=op.f('fk_referral_withdrawn_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_referral_partner_status', ['partner_id', 'status'], unique=False)

    op.create_table('support',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('service', sa.String(length=24), nullable=False),
    sa.Column('provider_unit_id', sa.Integer(), nullable=True),
    sa.Column('provider_partner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_support_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_support_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_support_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['provider_partner_id'], ['partner.id'], name=op.f('fk_support_provider_partner_id_partner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['provider_unit_id'], ['unit.id'], name=op.f('fk_support_provider_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support'))
    )
    with op.batch_alter_table('support', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_case_id'), ['case_id'], unique=False)

    op.create_table('referral_note',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('body', casework.crypto.fields.Ciphertext(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_referral_note_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_referral_note_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_note_referral_id_referral'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_note'))
    )
    with op.batch_alter_table('referral_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_note_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_packet',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('fields', sa.String(length=300), nullable=False),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('content', casework.crypto.fields.Ciphertext(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_referral_packet_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_referral_packet_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_packet_referral_id_referral'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_packet')),
    sa.UniqueConstraint('referral_id', 'number', name=op.f('uq_referral_packet_referral_id_number'))
    )
    with op.batch_alter_table('referral_packet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_packet_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_support',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('support_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_support_referral_id_referral'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['support_id'], ['support.id'], name=op.f('fk_referral_support_support_id_support'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('referral_id', 'support_id', name=op.f('pk_referral_support'))
    )
    op.create_table('shelter_stay',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('checked_in_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_out_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('checked_out_at IS NULL OR checked_out_at >= checked_in_at', name=op.f('ck_shelter_stay_out_after_in')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_shelter_stay_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_shelter_stay_partner_id_partner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_shelter_stay_recorded_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_shelter_stay_referral_id_referral'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shelter_stay'))
    )
    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        batch_op.create_index('ix_shelter_stay_partner_open', ['partner_id', 'checked_out_at'], unique=False)
        batch_op.create_index('uq_shelter_stay_one_open', ['referral_id'], unique=True, sqlite_where=sa.text('checked_out_at IS NULL'), postgresql_where=sa.text('checked_out_at IS NULL'))

    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contacts', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))




def downgrade():

    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('contacts')

    with op.batch_alter_table('shelter_stay', schema=None) as batch_op:
        batch_op.drop_index('uq_shelter_stay_one_open', sqlite_where=sa.text('checked_out_at IS NULL'), postgresql_where=sa.text('checked_out_at IS NULL'))
        batch_op.drop_index('ix_shelter_stay_partner_open')

    op.drop_table('shelter_stay')
    op.drop_table('referral_support')
    with op.batch_alter_table('referral_packet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_packet_referral_id'))

    op.drop_table('referral_packet')
    with op.batch_alter_table('referral_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_note_referral_id'))

    op.drop_table('referral_note')
    with op.batch_alter_table('support', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_case_id'))

    op.drop_table('support')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_partner_status')
        batch_op.drop_index(batch_op.f('ix_referral_case_id'))

    op.drop_table('referral')
    with op.batch_alter_table('quick_report_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quick_report_delivery_unit_id'))
        batch_op.drop_index('ix_qr_delivery_report_unit')

    op.drop_table('quick_report_delivery')
    with op.batch_alter_table('person_relationship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_relationship_case_id'))

    op.drop_table('person_relationship')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_case_id'))

    op.drop_table('consent')
    op.drop_table('recusal')
    with op.batch_alter_table('quick_report', schema=None) as batch_op:
        batch_op.drop_index('ix_quick_report_case_number')

    op.drop_table('quick_report')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_phone_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_id_number_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_full_name_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_case_id'))
        batch_op.drop_index(batch_op.f('ix_person_bidx_key_id'))

    op.drop_table('person')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_unread')

    op.drop_table('notification')
    with op.batch_alter_table('legal_basis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_basis_case_id'))

    op.drop_table('legal_basis')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_due_at'))
        batch_op.drop_index(batch_op.f('ix_follow_up_case_id'))

    op.drop_table('follow_up')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_from_unit_status')
        batch_op.drop_index('uq_escalation_one_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_escalation_to_unit_id'))
        batch_op.drop_index(batch_op.f('ix_escalation_case_id'))

    op.drop_table('escalation')
    with op.batch_alter_table('deadline_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_alert_key')

    op.drop_table('deadline_alert')
    with op.batch_alter_table('closure_request', schema=None) as batch_op:
        batch_op.drop_index('uq_closure_one_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_closure_request_case_id'))

    op.drop_table('closure_request')
    with op.batch_alter_table('case_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_type_code'))

    op.drop_table('case_type')
    with op.batch_alter_table('case_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_transition_case_id'))

    op.drop_table('case_transition')
    with op.batch_alter_table('case_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_action_case_id'))

    op.drop_table('case_action')
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.drop_index('ix_break_glass_user_case')

    op.drop_table('break_glass')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_case_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_case_id'))

    op.drop_table('assessment')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_file_severity'))
        batch_op.drop_index('ix_case_file_owning_received')
        batch_op.drop_index(batch_op.f('ix_case_file_handling_unit_id'))
        batch_op.drop_index('ix_case_file_handling_received')
        batch_op.drop_index(batch_op.f('ix_case_file_assigned_to_id'))

    op.drop_table('case_file')
    op.drop_table('case_counter')

