"""Calendar feeds (.ics). Placeholder routes; the calendar issue builds them."""

from flask import Blueprint, abort

bp = Blueprint("calendar", __name__)


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    abort(404)


@bp.get("/calendar/all.ics")
def feed_all():
    abort(404)


@bp.get("/calendar/branches/<slug>.ics")
def feed_branch(slug: str):
    abort(404)


@bp.get("/calendar/kinds/<kind>.ics")
def feed_kind(kind: str):
    abort(404)


@bp.get("/calendar/me/<token>.ics")
def personal_feed(token: str):
    abort(404)
