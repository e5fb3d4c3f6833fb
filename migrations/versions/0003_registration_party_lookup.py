"""registrations are found by event and phone, and by event and e-mail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00

A sign-up refuses a party already signed up for the event under the same name with the
same phone or e-mail (the Back button, the form sent again). It looks the party up under
the event's lock, so the lookup must not read every sign-up of a large event (the index
on e-mail alone loses to the event's own index in SQLite's planner).
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_registrations_event_phone", "registrations", ["event_id", "phone"])
    op.create_index("ix_registrations_event_email", "registrations", ["event_id", "email"])


def downgrade():
    op.drop_index("ix_registrations_event_email", table_name="registrations")
    op.drop_index("ix_registrations_event_phone", table_name="registrations")
