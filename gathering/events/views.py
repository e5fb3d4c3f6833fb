"""Public pages: the upcoming events, one event, a branch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from gathering import pagecache
from gathering.accounts.services import get_branch, list_branches
from gathering.errors import GatheringError
from gathering.events import services
from gathering.events.models import EventKind
from gathering.extensions import db
from gathering.timeutil import utcnow

bp = Blueprint("events", __name__)

#: what an anonymous visitor's copy of a public page varies on: the language
LANGUAGE_VARY = ("Accept-Language", "cookie:lang")


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
            raise GatheringError(_l("Choose a month like 2026-12."), code="bad_month",
                                 status=400) from None
        month = f"{window[0]:%Y-%m}"  # as the month picker shows it, however it was typed
    return branch, kind, month, window, page


def cached_listing(view):
    """Keep an anonymous listing page for PAGE_CACHE_SECONDS (gathering/pagecache.py and,
    before Flask runs, gathering/replay.py).

    The pages render a few dozen events with their fees and seats: caching them for a few
    seconds is what lets one small server stand a rush of residents opening the same page.
    """

    def view_with_cache(*args, **kwargs):
        if not pagecache.shareable():
            return view(*args, **kwargs)
        # the same answer for the next anonymous visitors in the same language, straight
        # from memory (gathering/replay.py); the language is the page's only variable
        return pagecache.cached_page(pagecache.page_key(),
                                     lambda: (view(*args, **kwargs), None),
                                     replay_vary=LANGUAGE_VARY)

    view_with_cache.__name__ = view.__name__
    view_with_cache.__doc__ = view.__doc__
    return view_with_cache


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
    """An event, with its sign-up form while sign-up is open. Anonymous visitors share one
    rendering for PAGE_CACHE_SECONDS, each with a CSRF token and request key of their own."""
    if pagecache.shareable():
        return pagecache.cached_page(pagecache.page_key("event"),
                                     lambda: _detail(event_id), replay_vary=LANGUAGE_VARY)
    return _detail(event_id)[0]


def _detail(event_id: int) -> tuple[str, str | None]:
    """The rendered event page and its sign-up form's idempotency key (None without form)."""
    from gathering.rsvp.forms import build_signup_form

    event = services.get_event(db.session, event_id)
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
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
