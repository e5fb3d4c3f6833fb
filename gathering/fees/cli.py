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
@click.option("--year", help="A fiscal year (2026: April 2026 to March 2027) instead of a "
                             "month, with a last row of its total.")
@with_appcontext
def export_money(month, slugs, year):
    """Print the money of every event in MONTH (2026-12; default this month) as CSV
    (UTF-8 with BOM), for monthly reports and subsidy paperwork; with --year, the fiscal
    year's (年度) for the 実績報告書."""
    query = sa.select(Branch)
    if slugs:
        query = query.where(Branch.slug.in_(slugs))
    branches = list(db.session.scalars(query))
    if slugs and len(branches) != len(set(slugs)):
        known = {b.slug for b in branches}
        raise click.BadParameter(", ".join(s for s in slugs if s not in known),
                                 param_hint="--branch")
    if year is not None and month:
        raise click.BadParameter("give a MONTH or --year, not both", param_hint="--year")
    try:
        if year is not None:
            fy, rows, total = services.year_money(db.session, [b.id for b in branches],
                                                  year or None, now=utcnow())
            data = services.year_csv(fy, rows, total)
        else:
            _first, rows, _total = services.month_money(db.session, [b.id for b in branches],
                                                        month, now=utcnow())
            data = services.month_csv(rows)
    except ValidationFailed as exc:
        raise click.BadParameter(str(exc.message),
                                 param_hint="--year" if year is not None else "MONTH") from None
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


COMMANDS = [export_money]
