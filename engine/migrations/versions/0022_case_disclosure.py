"""case disclosures: an administrator's legal review to see an instance's situation

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('answered_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', engine.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'],
                            name=op.f('fk_case_disclosure_case_id_case_file')),
    sa.ForeignKeyConstraint(['requested_by'], ['user_account.id'],
                            name=op.f('fk_case_disclosure_requested_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_disclosure'))
    )
    with op.batch_alter_table('case_disclosure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_disclosure_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_disclosure_requested_by'), ['requested_by'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_disclosure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_disclosure_requested_by'))
        batch_op.drop_index(batch_op.f('ix_case_disclosure_case_id'))
    op.drop_table('case_disclosure')
