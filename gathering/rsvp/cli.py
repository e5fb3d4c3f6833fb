"""Operator commands of the sign-up domain (registered by gathering.cli)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gathering.extensions import db
from gathering.rsvp import services
from gathering.timeutil import utcnow


@click.command("purge-sensitive")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Days after an event ends (default SENSITIVE_DATA_RETENTION_DAYS).")
@with_appcontext
def purge_sensitive(days):
    """Delete allergy, diet and health notes of events that ended long enough ago (cron)."""
    days = current_app.config["SENSITIVE_DATA_RETENTION_DAYS"] if days is None else days
    count = services.purge_sensitive(db.session, now=utcnow(), days=days)
    db.session.commit()
    click.echo(f"Purged sensitive data of {count} registration(s) of events ended more than "
               f"{days} day(s) ago.")


COMMANDS = [purge_sensitive]
