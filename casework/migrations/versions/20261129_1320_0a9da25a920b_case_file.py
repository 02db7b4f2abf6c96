"""case file

Revision ID: 0a9da25a920b
Revises: c2c7b0de0002
Create Date: 2026-11-29 12:03:56.746144

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
    sa.Column('content_type', sa.String(length=64), nullable=False),
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

    op.create_table('case_type',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_type_case_id_case_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'code', name=op.f('pk_case_type'))
    )
    with op.batch_alter_table('case_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_type_code'), ['code'], unique=False)

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
    sa.Column('substitute_reason', casework.crypto.fields.Ciphertext(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_consent_case_id_case_file'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_consent_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_consent_recorded_by_id_user_account'), ondelete='RESTRICT'),
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




def downgrade():

    with op.batch_alter_table('support', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_case_id'))

    op.drop_table('support')
    with op.batch_alter_table('person_relationship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_relationship_case_id'))

    op.drop_table('person_relationship')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_case_id'))

    op.drop_table('consent')
    op.drop_table('recusal')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_phone_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_id_number_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_full_name_bidx'))
        batch_op.drop_index(batch_op.f('ix_person_case_id'))
        batch_op.drop_index(batch_op.f('ix_person_bidx_key_id'))

    op.drop_table('person')
    with op.batch_alter_table('legal_basis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_basis_case_id'))

    op.drop_table('legal_basis')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_due_at'))
        batch_op.drop_index(batch_op.f('ix_follow_up_case_id'))

    op.drop_table('follow_up')
    with op.batch_alter_table('case_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_type_code'))

    op.drop_table('case_type')
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

