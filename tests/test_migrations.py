"""The schema comes from the migrations: they must agree with the models."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gathering.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": False})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        "models and migrations differ; run scripts/regen_initial_migration.sh:\n"
        + "\n".join(map(str, differences)))


def test_addresses_stored_before_0004_are_lowered(make_app, tmp_path):
    from datetime import timedelta

    from flask_migrate import upgrade

    from gathering.accounts.models import Branch
    from gathering.events.models import Event
    from gathering.rsvp.models import Registration
    from gathering.timeutil import utcnow

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with app.app_context():
        upgrade(revision="0003")  # the models' columns are 0003's: 0004 moves data only
        branch = Branch(slug="b", name="B", region="北海道")
        start = utcnow() + timedelta(days=3)
        event = Event(branch=branch, kind="kids_cafeteria", title="子ども食堂",
                      starts_at=start, ends_at=start + timedelta(hours=2))
        db.session.add_all([branch, event])
        db.session.flush()
        for n, email in enumerate(("Anna@Example.COM", "taro@example.jp", "")):
            db.session.add(Registration(event_id=event.id, family_name="山田", given_name="花",
                                        email=email, manage_token_hash=f"h{n}",
                                        ticket_token=f"t{n}"))
        db.session.commit()
        upgrade()
        emails = db.session.scalars(sa.select(Registration.email).order_by(Registration.id))
        assert list(emails) == ["anna@example.com", "taro@example.jp", ""]
        db.session.remove()
        db.engine.dispose()
