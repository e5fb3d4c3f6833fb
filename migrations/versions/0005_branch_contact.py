"""groups (branches) have a contact phone and e-mail address

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00

Residents are told to contact the organizers (after the sign-up deadline, about a refund
when an event is called off, when they signed up without an e-mail address): the group's
phone and address are shown there. Both are optional; existing groups have neither.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("contact_email", sa.String(length=254), nullable=False,
                                   server_default=""))


def downgrade():
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("contact_email")
        batch.drop_column("contact_phone")
