"""consent versions, legal reviews, notices, recipient capabilities

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), server_default=sa.text("'{}'"), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_event_consent_id_consent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_event_consent_id'), ['consent_id'], unique=False)

    op.create_table('consent_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('recipient_role', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_consent_notice_case_id_case_file')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_notice_consent_id_consent')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_consent_notice_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_notice'))
    )
    with op.batch_alter_table('consent_notice', schema=None) as batch_op:
        batch_op.create_index('ix_consent_notice_org', ['organisation_id', 'id'], unique=False)

    op.create_table('legal_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('legal_basis', sa.String(length=64), nullable=False),
    sa.Column('legal_basis_record_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('answer_record_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_legal_review_case_id_case_file')),
    sa.ForeignKeyConstraint(['legal_basis_record_id'], ['case_record.id'], name=op.f('fk_legal_review_legal_basis_record_id_case_record')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_legal_review_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_review')),
    sa.UniqueConstraint('legal_basis_record_id', name='uq_legal_review_record')
    )
    with op.batch_alter_table('legal_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_review_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person', sa.String(length=8), server_default=sa.text("'P1'"), nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_consent_supersedes_id_consent'), 'consent', ['supersedes_id'], ['id'])

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offence_data_authorised', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('bound_by_secrecy', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Recipient capabilities by kind (engine.identity.models): police and gendarmerie receive
    # offence data; departmental councils, CCAS and CMP staff are bound by secrecy by statute.
    organisation = sa.table('organisation', sa.column('kind', sa.String()),
                            sa.column('offence_data_authorised', sa.Boolean()),
                            sa.column('bound_by_secrecy', sa.Boolean()))
    op.execute(organisation.update()
               .where(organisation.c.kind.in_(['police', 'gendarmerie']))
               .values(offence_data_authorised=True))
    op.execute(organisation.update()
               .where(organisation.c.kind.in_(['departmental_council', 'ccas', 'cmp']))
               .values(bound_by_secrecy=True))



def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('bound_by_secrecy')
        batch_op.drop_column('offence_data_authorised')

    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_consent_supersedes_id_consent'), type_='foreignkey')
        batch_op.drop_column('supersedes_id')
        batch_op.drop_column('version')
        batch_op.drop_column('person')

    with op.batch_alter_table('legal_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_review_case_id'))

    op.drop_table('legal_review')
    with op.batch_alter_table('consent_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_notice_org')

    op.drop_table('consent_notice')
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_event_consent_id'))

    op.drop_table('consent_event')
