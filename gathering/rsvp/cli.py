"""Operator commands of the sign-up domain (registered by gathering.cli)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gathering import idempotency
from gathering.extensions import db
from gathering.rsvp import services
from gathering.timeutil import utcnow


@click.command("purge-sensitive")
@click.option("--days", type=click.IntRange(0, 36_500), default=None,
              help="Days after an event ends (default SENSITIVE_DATA_RETENTION_DAYS).")
@with_appcontext
def purge_sensitive(days):
    """Delete allergy, diet and health notes of events that ended long enough ago, and the
    answers kept for repeated requests once they are older than IDEMPOTENCY_RECORD_DAYS
    (cron)."""
    days = current_app.config["SENSITIVE_DATA_RETENTION_DAYS"] if days is None else days
    record_days = current_app.config["IDEMPOTENCY_RECORD_DAYS"]
    now = utcnow()
    count = services.purge_sensitive(db.session, now=now, days=days)
    expired = idempotency.delete_expired(db.session, now=now, days=record_days)
    db.session.commit()
    click.echo(f"Purged sensitive data of {count} registration(s) of events ended more than "
               f"{days} day(s) ago.")
    click.echo(f"Deleted {expired} answer(s) kept for repeated requests older than "
               f"{record_days} day(s).")


COMMANDS = [purge_sensitive]
