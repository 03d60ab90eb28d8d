"""audit checkpoints form a chain: own number and the previous checkpoint's hash

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:00:00

Checkpoints signed before this revision keep both columns null ("legacy": their signature
covers seq, hash and date only); every later checkpoint signs its number and the hash of
the previous one. No existing row is updated, so the append-only trigger stays in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_checkpoint_number'), ['number'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoint_number'))
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('number')
