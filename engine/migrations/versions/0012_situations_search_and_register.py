"""situations: people, blind search index, register of people received

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('search_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_search_key_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_key')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_search_key_organisation_id'))
    )
    op.create_table('situation_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_situation_person_case_id_case_file')),
    sa.ForeignKeyConstraint(['record_id'], ['case_record.id'], name=op.f('fk_situation_person_record_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_situation_person'))
    )
    with op.batch_alter_table('situation_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_situation_person_case_id'), ['case_id'], unique=False)

    op.create_table('search_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_search_token_case_id_case_file')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_search_token_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['situation_person.id'], name=op.f('fk_search_token_person_id_situation_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_token'))
    )
    with op.batch_alter_table('search_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_token_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_search_token_org_token', ['organisation_id', 'token'], unique=False)

    op.create_table('reception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('person_kind', sa.String(length=16), nullable=False),
    sa.Column('arrival', sa.String(length=24), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('orientations', sa.Text(), nullable=False),
    sa.Column('known_to_social_services', sa.Boolean(), nullable=True),
    sa.Column('minors_involved', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_reception_case_id_case_file')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_reception_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['situation_person.id'], name=op.f('fk_reception_person_id_situation_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reception'))
    )
    with op.batch_alter_table('reception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reception_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reception_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reception')
    op.drop_table('search_token')
    op.drop_table('situation_person')
    op.drop_table('search_key')
