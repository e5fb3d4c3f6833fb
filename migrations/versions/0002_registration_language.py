"""registrations remember the language they were made in

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:45:00

A promotion from the waiting list is mailed later, by someone else's action: it should
speak the language the family signed up in. Existing sign-ups are Japanese (the default).
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("lang", sa.String(length=5), nullable=False,
                                   server_default="ja"))


def downgrade():
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("lang")
