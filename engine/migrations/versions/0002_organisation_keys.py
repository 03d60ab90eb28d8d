"""organisation keys: validity end, recovery keys without a private half

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('key_pair', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_after', engine.db.UTCDateTime(), nullable=True))
        batch_op.alter_column('wrapped_private_key', existing_type=sa.LargeBinary(),
                              nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('key_pair', schema=None) as batch_op:
        batch_op.alter_column('wrapped_private_key', existing_type=sa.LargeBinary(),
                              nullable=False)
        batch_op.drop_column('not_after')
