"""activity figures: facts, scopes, pseudonym key

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('figure_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_key'))
    )
    op.create_table('figure_fact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('situation_key', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('indicator', sa.String(length=48), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_figure_fact_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_fact'))
    )
    with op.batch_alter_table('figure_fact', schema=None) as batch_op:
        batch_op.create_index('ix_figure_fact_indicator_month', ['indicator', 'month', 'organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_figure_fact_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_figure_fact_situation_key'), ['situation_key'], unique=False)
    op.create_table('figure_scope',
    sa.Column('viewer_organisation_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_figure_scope_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['viewer_organisation_id'], ['organisation.id'], name=op.f('fk_figure_scope_viewer_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('viewer_organisation_id', 'organisation_id', name=op.f('pk_figure_scope'))
    )
    with op.batch_alter_table('figure_scope', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_figure_scope_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('figure_scope', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_figure_scope_organisation_id'))
    op.drop_table('figure_scope')
    with op.batch_alter_table('figure_fact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_figure_fact_situation_key'))
        batch_op.drop_index(batch_op.f('ix_figure_fact_organisation_id'))
        batch_op.drop_index('ix_figure_fact_indicator_month')
    op.drop_table('figure_fact')
    op.drop_table('figure_key')
