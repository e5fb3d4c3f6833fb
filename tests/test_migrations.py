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


def _group_of_before_0005() -> int:
    """A group inserted as the table was before 0005 (the model has more columns)."""
    from gathering.timeutil import UTCDateTime, utcnow

    db.session.execute(sa.text(
        "INSERT INTO branches (slug, name, region, description, issuer_name, "
        "issuer_address, receipt_stamp_note, created_at) "
        "VALUES ('b', 'B', '北海道', '', '', '', :no, :now)").bindparams(
            sa.bindparam("no", False), sa.bindparam("now", utcnow(), type_=UTCDateTime)))
    return db.session.scalar(sa.text("SELECT id FROM branches WHERE slug = 'b'"))


def test_addresses_stored_before_0004_are_lowered(make_app, tmp_path):
    from datetime import timedelta

    from flask_migrate import upgrade

    from gathering.events.models import Event
    from gathering.rsvp.models import Registration
    from gathering.timeutil import utcnow

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with app.app_context():
        upgrade(revision="0003")  # 0004 moves data only
        branch_id = _group_of_before_0005()
        start = utcnow() + timedelta(days=3)
        event = Event(branch_id=branch_id, kind="kids_cafeteria", title="子ども食堂",
                      starts_at=start, ends_at=start + timedelta(hours=2))
        db.session.add(event)
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


def test_groups_made_before_0005_have_no_contact_and_0005_goes_back(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with app.app_context():
        upgrade(revision="0004")
        _group_of_before_0005()
        db.session.commit()
        upgrade(revision="0005")
        row = db.session.execute(sa.text(
            "SELECT name, contact_phone, contact_email FROM branches")).one()
        assert tuple(row) == ("B", "", "")
        db.session.commit()
        downgrade(revision="0004")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("branches")}
        assert "contact_phone" not in columns and "contact_email" not in columns
        assert db.session.scalar(sa.text("SELECT name FROM branches")) == "B"
        db.session.remove()
        db.engine.dispose()
