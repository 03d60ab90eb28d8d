"""gravity of the facts on the case, who gave a consent, CRIP organisations of kind `crip`

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-30 16:00:00.000000

- `case_file.gravity`: the gravest gravity of the facts the case's sheets record (the
  retention sweep keeps purposes that follow it as long as the offence can be prosecuted).
  Existing cases have none: their sweep is unchanged (a délit's 6 years for those purposes).
- `consent.given_by`: who gave the agreement. Existing consents stay null (shown « non
  précisé »): Relais never recorded it for them, and guessing would put words in a record.
- Data: organisations that are the CRIP by their marking before the `crip` kind existed get
  kind `crip` (see `is_crip_by_marking`).
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Until the `crip` kind existed, the CRIP was entered as an organisation of the departmental
# council (kind `departmental_council`); the only thing that told it apart was how it was
# named. An organisation of that kind is the CRIP when its slug has a `crip` segment
# (`crip-demo`, `cd78-crip`) or its name says « CRIP » as a word or « recueil des informations
# préoccupantes » (accents and case ignored). Other organisations are left as they are.
CRIP_NAME = re.compile(r"\bcrip\b|recueil des informations preoccupantes")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def is_crip_by_marking(kind: str, slug: str, name: str) -> bool:
    """Whether an organisation row is the CRIP by its marking (see CRIP_NAME)."""
    if kind != "departmental_council":
        return False
    return "crip" in re.split(r"[-_.]", slug.lower()) or CRIP_NAME.search(_plain(name)) is not None


def upgrade() -> None:
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gravity', sa.String(length=16), nullable=True))
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_by', sa.String(length=24), nullable=True))
    bind = op.get_bind()
    organisation = sa.table('organisation', sa.column('id', sa.Integer),
                            sa.column('slug', sa.String), sa.column('name', sa.String),
                            sa.column('kind', sa.String),
                            sa.column('bound_by_secrecy', sa.Boolean))
    rows = bind.execute(sa.select(organisation.c.id, organisation.c.kind, organisation.c.slug,
                                  organisation.c.name)).all()
    crip = [row.id for row in rows if is_crip_by_marking(row.kind, row.slug, row.name)]
    if crip:  # the CRIP's staff are bound by professional secrecy by statute (CASF L.226-2-2)
        bind.execute(organisation.update().where(organisation.c.id.in_(crip))
                     .values(kind='crip', bound_by_secrecy=True))


def downgrade() -> None:
    # The kind `crip` stays: the code of revision 0013 knows it too, and which rows were
    # changed is not recorded (turning every CRIP back into a council service would also
    # change those created as CRIP).
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('given_by')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_column('gravity')
