"""registrations keep their e-mail address in lower case

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:30:00

The sign-up finds a party already signed up by its phone or e-mail; an address typed once
as Anna@example.jp (a phone capitalises the first letter) and once as anna@example.jp must
be found, so addresses are stored in lower case from now on, and those stored before are
lowered here.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    registrations = sa.table("registrations", sa.column("email", sa.String))
    op.execute(registrations.update()
               .where(registrations.c.email != sa.func.lower(registrations.c.email))
               .values(email=sa.func.lower(registrations.c.email)))


def downgrade():
    pass  # the case typed is not kept: the addresses stay in lower case
