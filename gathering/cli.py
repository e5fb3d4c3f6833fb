"""Operator commands: flask --app wsgi <command>. Part of the contract (API.md)."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from gathering.accounts import services as accounts
from gathering.errors import GatheringError
from gathering.extensions import db
from gathering.timeutil import utcnow


def init_app(app) -> None:
    for command in (create_user, create_token, seed_demo, materialise_series):
        app.cli.add_command(command)
    _add_domain_commands(app)


def _add_domain_commands(app) -> None:
    """Domains with commands of their own (e.g. purging sensitive data) add them here."""
    import importlib

    for name in ("gathering.rsvp.cli", "gathering.fees.cli", "gathering.checkin.cli",
                 "gathering.calendar.cli", "bench.seed_scale"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, name.rsplit(".", 1)[0]):
                raise
            continue
        for command in getattr(module, "COMMANDS", ()):
            app.cli.add_command(command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "organizer", "volunteer"]), required=True)
@click.option("--branch", "branches", multiple=True, help="Branch slug (repeatable).")
@click.option("--password", default=None, help="Generated and printed when not given.")
@click.option("--name", default="")
@with_appcontext
def create_user(email, role, branches, password, name):
    """Create an organizer, volunteer or admin account."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        user = accounts.create_user(db.session, email, role=role, password=password, name=name,
                                    branch_slugs=branches)
    except GatheringError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")
    if generated:
        click.echo(f"Password: {password}")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def create_token(email, name):
    """Print a new API bearer token for EMAIL (as the last line)."""
    user = accounts.get_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}")
    token = accounts.create_token(db.session, user, name=name)
    db.session.commit()
    click.echo(token)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Fill an empty database with the demo branches, venues, events and accounts."""
    from gathering.demo import seed

    created = seed(db.session, now=utcnow(),
                   months=current_app.config["SERIES_HORIZON_MONTHS"])
    db.session.commit()
    if created:
        click.echo("Demo data created.")
    else:
        click.echo("The database already has data; nothing changed.")
    from gathering.demo import DEMO_LOGINS

    for role, email, password in DEMO_LOGINS:
        click.echo(f"  {role:<10} {email}  /  {password}")


@click.command("materialise-series")
@click.option("--months", type=int, default=None, help="How far ahead (default: setting).")
@with_appcontext
def materialise_series(months):
    """Create the coming occurrences of every recurring series (run daily from cron)."""
    from gathering.events.services import materialise_all

    months = months or current_app.config["SERIES_HORIZON_MONTHS"]
    count = materialise_all(db.session, now=utcnow(), months=months)
    db.session.commit()
    click.echo(f"{count} new occurrences.")
