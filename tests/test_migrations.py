"""The schema comes from the migrations: they must agree with the models."""

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
