"""Operator commands: flask --app wsgi <command>. Part of the contract (API.md)."""

from __future__ import annotations

import functools
import secrets
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from gathering.accounts import services as accounts
from gathering.accounts.models import Branch
from gathering.errors import GatheringError
from gathering.extensions import db
from gathering.formatting import format_phone
from gathering.timeutil import to_local, utcnow


def init_app(app) -> None:
    for command in (create_user, update_user, set_password, create_token, list_tokens,
                    revoke_tokens, create_branch, update_branch, seed_demo,
                    materialise_series):
        app.cli.add_command(_says_when_unmigrated(command))
    _add_domain_commands(app)


def _says_when_unmigrated(command: click.Command) -> click.Command:
    """A command run on a database the migrations never reached says what to do, instead
    of a traceback about a missing table (a fresh install, a mistyped DATABASE_URL)."""
    callback = command.callback

    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except sa.exc.DBAPIError as exc:
            db.session.rollback()  # its transaction (and SQLite's lock) before looking
            if not sa.inspect(db.engine).has_table("alembic_version"):
                raise click.ClickException(
                    "The database has no tables: run `flask --app wsgi db upgrade` first "
                    f"(DATABASE_URL: {db.engine.url.render_as_string(hide_password=True)})."
                ) from None
            raise exc

    command.callback = functools.update_wrapper(run, callback)
    return command


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
            app.cli.add_command(_says_when_unmigrated(command))


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
    if generated:  # an empty --password "" is refused as too short, never replaced
        password = secrets.token_urlsafe(12)
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


def _user_or_fail(email: str):
    user = accounts.get_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}")
    return user


def _fail(exc: GatheringError) -> NoReturn:
    """A refusal of a service as an operator error: its message, exit code 1, no traceback."""
    db.session.rollback()
    raise click.ClickException(str(exc.message)) from None


@click.command("update-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "organizer", "volunteer"]), default=None)
@click.option("--branch", "branches", multiple=True,
              help="Branch slug (repeatable); replaces the user's branches.")
@click.option("--name", default=None)
@click.option("--active/--inactive", "is_active", default=None,
              help="--inactive stops the account from logging in (and its API tokens).")
@with_appcontext
def update_user(email, role, branches, name, is_active):
    """Change an account's role, branches, name, or whether it may log in."""
    user = _user_or_fail(email)
    try:
        accounts.update_user(db.session, user, role=role, branch_slugs=branches or None,
                             name=name, is_active=is_active)
    except GatheringError as exc:
        _fail(exc)
    db.session.commit()
    slugs = ", ".join(b.slug for b in user.branches) or "-"
    state = "active" if user.is_active_account else "inactive"
    click.echo(f"Updated {user.role} {user.email} ({state}; branches: {slugs})")


@click.command("set-password")
@click.argument("email")
@click.option("--password", default=None,
              help="Asked for (hidden, twice) when not given.")
@with_appcontext
def set_password(email, password):
    """Give an account a new password (a forgotten one)."""
    user = _user_or_fail(email)
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.set_password(db.session, user, password)
    except GatheringError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"New password set for {user.email}; every other login of it has ended.")
    active = sum(1 for t in accounts.list_tokens(db.session, user) if t.revoked_at is None)
    if active:
        click.echo(f"API tokens still valid: {active} (left alone: `revoke-tokens "
                   f"{user.email}` stops them).")


def _show_branch(verb: str, branch) -> None:
    click.echo(f"{verb} group {branch.slug}: {branch.name}")
    issuer = branch.issuer_name or f"{branch.name} (the group's name)"
    click.echo(f"  receipts issued by: {issuer}")
    click.echo(f"  issuer address: {branch.issuer_address or '-'}")
    phone = format_phone(branch.contact_phone) or "-"
    click.echo(f"  contact: phone {phone}, e-mail {branch.contact_email or '-'}")


_BRANCH_OPTIONS = [
    click.option("--region", default=None, help="e.g. 北海道"),
    click.option("--description", default=None),
    click.option("--issuer-name", default=None,
                 help="Printed on receipts (the group's name when empty)."),
    click.option("--issuer-address", default=None, help="Printed on receipts."),
    click.option("--stamp-note/--no-stamp-note", "receipt_stamp_note", default=None,
                 help="Print the revenue-stamp box on large receipts."),
    click.option("--contact-phone", default=None,
                 help="Shown to residents told to contact the organizers, e.g. 0166-12-3456."),
    click.option("--contact-email", default=None,
                 help="Shown to residents told to contact the organizers."),
]


def _branch_options(command):
    for option in reversed(_BRANCH_OPTIONS):
        command = option(command)
    return command


@click.command("create-branch")
@click.argument("slug")
@click.argument("name")
@_branch_options
@with_appcontext
def create_branch(slug, name, **fields):
    """Create a group (団体): SLUG names it in URLs (e.g. asahikawa), NAME is shown."""
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        branch = accounts.create_branch(db.session, slug, name, **fields)
    except GatheringError as exc:
        _fail(exc)
    db.session.commit()
    _show_branch("Created", branch)


@click.command("update-branch")
@click.argument("slug")
@click.option("--name", default=None)
@_branch_options
@with_appcontext
def update_branch(slug, **fields):
    """Change a group's name, region, receipt issuer or contact; options not given stay as
    they are."""
    branch = db.session.scalar(sa.select(Branch).where(
        Branch.slug == accounts.branch_slug(slug)))
    if branch is None:
        raise click.ClickException(f"No group with the short name {slug}")
    try:
        accounts.update_branch(db.session, branch, **fields)
    except GatheringError as exc:
        _fail(exc)
    db.session.commit()
    _show_branch("Updated", branch)


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def create_token(email, name):
    """Print a new API bearer token for EMAIL (as the last line)."""
    user = accounts.get_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}")
    try:
        token = accounts.create_token(db.session, user, name=name)
    except GatheringError as exc:
        _fail(exc)
    db.session.commit()
    if not user.is_active:
        # on standard error: the token stays the last line of standard output (API.md)
        click.echo(f"Note: {user.email} is inactive, so the API refuses this token until "
                   f"`flask --app wsgi update-user {user.email} --active`.", err=True)
    click.echo(token)


def _tokens(count: int) -> str:
    return f"{count} API token" + ("" if count == 1 else "s")


def _when(value) -> str:
    return to_local(value).isoformat(timespec="minutes")


@click.command("list-tokens")
@click.argument("email")
@with_appcontext
def list_tokens(email):
    """Show EMAIL's API tokens: number, name, when made, last used, revoked (never the
    token itself, which is not stored)."""
    user = _user_or_fail(email)
    tokens = accounts.list_tokens(db.session, user)
    if not tokens:
        click.echo(f"{user.email} has no API token.")
        return
    click.echo(f"API tokens of {user.email}:")
    for token in tokens:
        used = f"last used {_when(token.last_used_at)}" if token.last_used_at else "never used"
        state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
        click.echo(f"  #{token.id}  {token.name or '(no name)'}  created "
                   f"{_when(token.created_at)}, {used}, {state}")


@click.command("revoke-tokens")
@click.argument("email")
@click.option("--name", default=None, help="Only the tokens with this name.")
@click.option("--id", "token_id", type=click.IntRange(1, 2**31 - 1), default=None,
              help="Only the token with this number (see list-tokens).")
@with_appcontext
def revoke_tokens(email, name, token_id):
    """Revoke EMAIL's API tokens: all of them, or only those named --name or numbered
    --id (a lost door phone's)."""
    user = _user_or_fail(email)
    count = accounts.revoke_tokens(db.session, user, name=name, token_id=token_id)
    db.session.commit()
    which = "".join([f" named {name!r}" if name is not None else "",
                     f" numbered #{token_id}" if token_id is not None else ""])
    click.echo(f"Revoked {_tokens(count)} of {user.email}{which}.")
    seconds = current_app.config["API_TOKEN_CACHE_SECONDS"]
    if count and seconds > 0:
        click.echo(f"An app server that saw one in the last {seconds} seconds still "
                   "accepts it until then (API_TOKEN_CACHE_SECONDS).")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Fill an empty database with the demo branches, venues, events and accounts."""
    from gathering.demo import seed

    created = seed(db.session, now=utcnow(),
                   months=current_app.config["SERIES_HORIZON_MONTHS"])
    db.session.commit()
    from gathering.demo import DEMO_LOGINS

    if created:
        click.echo("Demo data created.")
        logins = DEMO_LOGINS
    else:
        click.echo("The database already has data; nothing changed.")
        # only the demo logins that work here: a database of real groups has none, and
        # one whose demo admin got another password must not be shown the old one
        logins = [login for login in DEMO_LOGINS
                  if accounts.authenticate(db.session, login[1], login[2]) is not None]
    for role, email, password in logins:
        click.echo(f"  {role:<10} {email}  /  {password}")


@click.command("materialise-series")
@click.option("--months", type=click.IntRange(1, 60), default=None,
              help="How far ahead, 1 to 60 (default: SERIES_HORIZON_MONTHS).")
@with_appcontext
def materialise_series(months):
    """Create the coming occurrences of every recurring series (run daily from cron)."""
    from gathering.events.services import materialise_all

    months = months if months is not None else current_app.config["SERIES_HORIZON_MONTHS"]
    count = materialise_all(db.session, now=utcnow(), months=months)
    db.session.commit()
    click.echo(f"{count} new occurrences.")
