"""Public pages: the upcoming events, one event, a branch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, session
from flask_login import current_user

from gathering.accounts.services import get_branch, list_branches
from gathering.events import services
from gathering.events.models import EventKind
from gathering.extensions import cache, db
from gathering.i18n import current_lang
from gathering.timeutil import utcnow

bp = Blueprint("events", __name__)


def _filters():
    """Filters from the query string; a malformed one is a 400, an unknown branch a 404."""
    branch_slug = request.args.get("branch") or None
    kind = request.args.get("kind") or None
    month = request.args.get("month") or None
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        abort(400)
    if page < 1 or page > 100_000:
        abort(400)
    if kind and kind not in {k.value for k in EventKind}:
        abort(404)
    branch = get_branch(db.session, branch_slug) if branch_slug else None
    window = None
    if month:
        try:
            window = services.month_window(month)
        except ValueError:
            abort(400)
    return branch, kind, month, window, page


def _not_cacheable() -> bool:
    """Only the anonymous, message-free view of a listing is shared between visitors."""
    return (current_app.config["PAGE_CACHE_SECONDS"] <= 0 or current_user.is_authenticated
            or bool(session.get("_flashes")))


def _page_key(*args, **kwargs) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)) if k != "lang")
    return f"page:{current_lang()}:{request.path}?{query}"


def _page_timeout() -> int:
    return current_app.config["PAGE_CACHE_SECONDS"]


def cached_listing(view):
    """Keep an anonymous listing page for PAGE_CACHE_SECONDS (Flask-Caching).

    The pages render a few dozen events with their fees and seats: caching them for a few
    seconds is what lets one small server stand a rush of residents opening the same page.
    """
    wrapped = cache.cached(timeout=None, make_cache_key=_page_key, unless=_not_cacheable)(view)

    def view_with_timeout(*args, **kwargs):
        wrapped.cache_timeout = _page_timeout()
        return wrapped(*args, **kwargs)

    view_with_timeout.__name__ = view.__name__
    view_with_timeout.__doc__ = view.__doc__
    return view_with_timeout


def _listing(template: str, **extra):
    branch, kind, month, window, page = _filters()
    if "branch" in extra:
        branch = extra["branch"]
    now = utcnow()
    start, end = window if window else (now, None)
    result = services.list_public_events(db.session, branch=branch, kind=kind, start=start,
                                         end=end, page=page,
                                         per_page=current_app.config["EVENTS_PER_PAGE"])
    return render_template(
        template,
        page=result,
        branches=list_branches(db.session),
        kinds=list(EventKind),
        selected={"branch": branch.slug if branch else "", "kind": kind or "",
                  "month": month or ""},
        now=now,
        few=current_app.config["FEW_SEATS_LEFT"],
        **extra,
    )


@bp.get("/")
@cached_listing
def index():
    return _listing("events/index.html")


@bp.get("/events/<int:event_id>")
def detail(event_id: int):
    from gathering.rsvp.forms import build_signup_form

    event = services.get_event(db.session, event_id)
    now = utcnow()
    state = services.signup_state(event, now)
    return render_template(
        "events/detail.html",
        event=event,
        now=now,
        signup_state=state,
        seats=services.seats_state(event, current_app.config["FEW_SEATS_LEFT"]),
        few=current_app.config["FEW_SEATS_LEFT"],
        signup_form=build_signup_form(event) if state == "open" else None,
    )


@bp.get("/branches/<slug>")
@cached_listing
def branch(slug: str):
    return _listing("events/branch.html", branch=get_branch(db.session, slug))


@bp.get("/healthz")
def healthz():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
