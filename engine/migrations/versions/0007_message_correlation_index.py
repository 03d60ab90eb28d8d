"""message correlation index, messages scoped by sender organisation, foreign-key indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:20:00

- `message_wait`: the correlation keys running instances wait on (no scan to correlate);
- `message.dedup_key` (sender organisation or platform + message id) replaces the global
  uniqueness of `message.message_id`; `message.sender_organisation_id` keeps who sent it;
- an index on `instance.status` and on every foreign key that had none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = [
    ('case_file', 'opened_by'), ('case_record', 'organisation_id'),
    ('key_pair', 'organisation_id'), ('process_version', 'deployment_id'),
    ('instance', 'process_version_id'), ('instance', 'status'),
    ('consent', 'organisation_id'), ('consent', 'supersedes_id'),
    ('consent', 'recorded_by'), ('legal_review', 'organisation_id'),
    ('consent_notice', 'case_id'), ('consent_notice', 'consent_id'),
    ('delivery', 'instance_id'), ('delivery', 'sender_organisation_id'),
    ('delivery', 'consent_id'), ('itp_booking', 'case_id'), ('dossier_piece', 'instance_id'),
]


def upgrade() -> None:
    op.create_table('message_wait',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'],
                            name=op.f('fk_message_wait_instance_id_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_wait'))
    )
    with op.batch_alter_table('message_wait', schema=None) as batch_op:
        batch_op.create_index('ix_message_wait_lookup', ['name', 'key', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_wait_instance_id'), ['instance_id'],
                              unique=False)

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedup_key', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('sender_organisation_id', sa.Integer(), nullable=True))
    op.execute("UPDATE message SET dedup_key = 'platform:' || message_id")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('dedup_key', existing_type=sa.String(length=160), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_message_message_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_message_dedup_key'), ['dedup_key'])

    for table, column in INDEXED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_message_dedup_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_message_message_id'), ['message_id'])
        batch_op.drop_column('sender_organisation_id')
        batch_op.drop_column('dedup_key')
    with op.batch_alter_table('message_wait', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_wait_instance_id'))
        batch_op.drop_index('ix_message_wait_lookup')
    op.drop_table('message_wait')
