"""consents, deliveries and receipts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('purposes', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('given_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_consent_case_id_case_file')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_consent_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['recorded_by'], ['user_account.id'], name=op.f('fk_consent_recorded_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    sa.UniqueConstraint('uid', name=op.f('uq_consent_uid'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_case', ['case_id', 'given_at'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('sender_organisation_id', sa.Integer(), nullable=False),
    sa.Column('recipient_organisation_id', sa.Integer(), nullable=False),
    sa.Column('recipient_role', sa.String(length=32), nullable=True),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('legal_basis', sa.String(length=200), nullable=True),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('document_name', sa.String(length=200), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=True),
    sa.Column('manifest', sa.Text(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('opened_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('storage_nonce', sa.LargeBinary(), nullable=False),
    sa.Column('storage_ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_delivery_case_id_case_file')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_delivery_consent_id_consent')),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], name=op.f('fk_delivery_instance_id_instance')),
    sa.ForeignKeyConstraint(['recipient_organisation_id'], ['organisation.id'], name=op.f('fk_delivery_recipient_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['sender_organisation_id'], ['organisation.id'], name=op.f('fk_delivery_sender_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('envelope_id', name=op.f('uq_delivery_envelope_id')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_delivery_outbox_id'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_delivery_inbox', ['recipient_organisation_id', 'status', 'id'], unique=False)

    op.create_table('receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('signer_kid', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], name=op.f('fk_receipt_delivery_id_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_receipt_delivery_id'))
    )


def downgrade() -> None:
    op.drop_table('receipt')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_inbox')
        batch_op.drop_index(batch_op.f('ix_delivery_case_id'))

    op.drop_table('delivery')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_case')

    op.drop_table('consent')
