"""a recurring series can end: an optional last date (最終日)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 12:00:00

A children's cafeteria that closes at the end of the 年度 sets the last date of its series:
no date is made after that day, and the feed's rule ends there. Existing series have none
(they go on as before).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("series") as batch:
        batch.drop_column("ends_on")
