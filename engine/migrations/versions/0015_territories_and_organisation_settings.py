"""territories (partners by slot, one territory per organisation); organisation signatory,
logo and the roles bound by secrecy

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'territory',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'territory_member',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('territory_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.ForeignKeyConstraint(['territory_id'], ['territory.id']),
        sa.PrimaryKeyConstraint('organisation_id'),
    )
    with op.batch_alter_table('territory_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_territory_member_territory_id'), ['territory_id'],
                              unique=False)
    op.create_table(
        'territory_partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('territory_id', sa.Integer(), nullable=False),
        sa.Column('slot', sa.String(length=32), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.ForeignKeyConstraint(['territory_id'], ['territory.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('territory_id', 'slot', name='uq_territory_slot'),
    )
    with op.batch_alter_table('territory_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_territory_partner_organisation_id'),
                              ['organisation_id'], unique=False)
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('secrecy_roles', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('secrecy_roles')
        batch_op.drop_column('logo_type')
        batch_op.drop_column('logo')
        batch_op.drop_column('signatory')
    with op.batch_alter_table('territory_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territory_partner_organisation_id'))
    op.drop_table('territory_partner')
    with op.batch_alter_table('territory_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territory_member_territory_id'))
    op.drop_table('territory_member')
    op.drop_table('territory')
