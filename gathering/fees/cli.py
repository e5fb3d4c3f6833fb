"""Operator commands of the fees domain (registered by gathering.cli)."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from gathering.accounts.models import Branch
from gathering.errors import ValidationFailed
from gathering.extensions import db
from gathering.fees import services
from gathering.timeutil import utcnow


@click.command("export-money")
@click.argument("month", required=False)
@click.option("--branch", "slugs", multiple=True, help="Only this group (repeatable).")
@with_appcontext
def export_money(month, slugs):
    """Print the money of every event in MONTH (2026-12; default this month) as CSV
    (UTF-8 with BOM), for monthly reports and subsidy paperwork."""
    query = sa.select(Branch)
    if slugs:
        query = query.where(Branch.slug.in_(slugs))
    branches = list(db.session.scalars(query))
    if slugs and len(branches) != len(set(slugs)):
        known = {b.slug for b in branches}
        raise click.BadParameter(", ".join(s for s in slugs if s not in known),
                                 param_hint="--branch")
    try:
        _first, rows, _total = services.month_money(db.session, [b.id for b in branches],
                                                    month, now=utcnow())
    except ValidationFailed as exc:
        raise click.BadParameter(str(exc.message), param_hint="MONTH") from None
    sys.stdout.buffer.write(services.month_csv(rows))
    sys.stdout.flush()


COMMANDS = [export_money]
