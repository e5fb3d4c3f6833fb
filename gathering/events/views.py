"""Public pages: the upcoming events, one event, a branch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from gathering import pagecache
from gathering.accounts.services import get_branch, list_branches
from gathering.events import services
from gathering.events.models import EventKind
from gathering.extensions import db
from gathering.timeutil import utcnow

bp = Blueprint("events", __name__)

#: what an anonymous visitor's copy of a public page varies on: the language
LANGUAGE_VARY = ("Accept-Language", "cookie:lang")


def _month_filter() -> tuple[str | None, tuple | None, str | None]:
    """``?month=`` as (the month as the picker shows it, its window, None), or, typed in a
    form the listing cannot read (``12月``: a phone without a month picker), (what was
    typed, None, the message to show by the field)."""
    month = request.args.get("month") or None
    if not month:
        return None, None, None
    try:
        window = services.month_window(month)
    except ValueError:
        return month[:20], None, _("Choose a month like 2026-12.")
    return f"{window[0]:%Y-%m}", window, None  # as the month picker shows it


def _filters():
    """Filters from the query string; a malformed page number is a 400, an unknown branch
    or kind a 404, a month that cannot be read a message by the field (``_month_filter``)."""
    branch_slug = request.args.get("branch") or None
    kind = request.args.get("kind") or None
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        abort(400)
    if page < 1 or page > 100_000:
        abort(400)
    if kind and kind not in {k.value for k in EventKind}:
        abort(404)
    branch = get_branch(db.session, branch_slug) if branch_slug else None
    month, window, month_error = _month_filter()
    return branch, kind, month, window, page, month_error


def cached_listing(view):
    """Keep an anonymous listing page for PAGE_CACHE_SECONDS (gathering/pagecache.py and,
    before Flask runs, gathering/replay.py).

    The pages render a few dozen events with their fees and seats: caching them for a few
    seconds is what lets one small server stand a rush of residents opening the same page.
    """

    def view_with_cache(*args, **kwargs):
        if not pagecache.shareable() or _month_filter()[2]:  # a refusal is not kept
            return view(*args, **kwargs)
        # the same answer for the next anonymous visitors in the same language, straight
        # from memory (gathering/replay.py); the language is the page's only variable
        return pagecache.cached_page(pagecache.page_key(),
                                     lambda: (view(*args, **kwargs)[0], None),
                                     replay_vary=LANGUAGE_VARY)

    view_with_cache.__name__ = view.__name__
    view_with_cache.__doc__ = view.__doc__
    return view_with_cache


def _listing(template: str, **extra):
    """The listing page; 400 with every upcoming event, the other filters kept and a message
    by the month field when the month cannot be read."""
    branch, kind, month, window, page, month_error = _filters()
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
        month_error=month_error,
        now=now,
        few=current_app.config["FEW_SEATS_LEFT"],
        **extra,
    ), 400 if month_error else 200


@bp.get("/")
@cached_listing
def index():
    return _listing("events/index.html")


@bp.get("/events/<int:event_id>")
def detail(event_id: int):
    """An event, with its sign-up form while sign-up is open. Anonymous visitors share one
    rendering for PAGE_CACHE_SECONDS, each with a CSRF token and request key of their own."""
    if pagecache.shareable():
        return pagecache.cached_page(pagecache.page_key("event"),
                                     lambda: _detail(event_id), replay_vary=LANGUAGE_VARY)
    return _detail(event_id)[0]


def _detail(event_id: int) -> tuple[str, str | None]:
    """The rendered event page and its sign-up form's idempotency key (None without form)."""
    from gathering.rsvp.forms import build_signup_form

    # an organizer previews a draft (its organizer page links here); to anyone else a
    # draft does not exist. The shared copy is for anonymous visitors only.
    reader = current_user if current_user.is_authenticated else None
    event = services.get_event_for_reader(db.session, event_id, reader)
    now = utcnow()
    state = services.signup_state(event, now)
    form = build_signup_form(event) if state == "open" else None
    html = render_template(
        "events/detail.html",
        event=event,
        now=now,
        signup_state=state,
        seats=services.seats_state(event, current_app.config["FEW_SEATS_LEFT"]),
        few=current_app.config["FEW_SEATS_LEFT"],
        signup_form=form,
    )
    return html, form.idempotency_key.data if form else None


@bp.get("/branches/<slug>")
@cached_listing
def branch(slug: str):
    return _listing("events/branch.html", branch=get_branch(db.session, slug))


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: 200 ``{"status": "ok"}`` when the database
    answers, else 503 ``{"status": "unavailable"}`` (logged), never an error page."""
    try:
        db.session.execute(db.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: the database does not answer")
        body, status = {"status": "unavailable"}, 503
    else:
        body, status = {"status": "ok"}, 200
    return body, status, {"Cache-Control": "no-store"}
