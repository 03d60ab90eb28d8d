"""protocol drafts and withdrawal of versions from new starts

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('protocol_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.Text(), nullable=False),
    sa.Column('base_version_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['base_version_id'], ['process_version.id'], name=op.f('fk_protocol_draft_base_version_id_process_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_draft'))
    )
    with op.batch_alter_table('protocol_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_draft_process_id'), ['process_id'], unique=False)

    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_by')
        batch_op.drop_column('withdrawn_at')

    with op.batch_alter_table('protocol_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protocol_draft_process_id'))

    op.drop_table('protocol_draft')
