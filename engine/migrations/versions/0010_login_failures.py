"""login failures counted per typed account and source address

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('failed_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('locks', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_account', ['account_key', 'failed_at'],
                              unique=False)
        batch_op.create_index('ix_login_failure_source', ['source_key', 'failed_at'],
                              unique=False)
        batch_op.create_index('ix_login_failure_failed_at', ['failed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_failed_at')
        batch_op.drop_index('ix_login_failure_source')
        batch_op.drop_index('ix_login_failure_account')
    op.drop_table('login_failure')
