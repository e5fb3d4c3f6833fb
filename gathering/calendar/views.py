"""Calendar feeds (.ics) and the page that explains how to subscribe to them.

Feeds are Japanese unless the URL says ``?lang=en``: a calendar app sends no language, and
one URL must always give the same bytes (its ETag). Filters combine: any feed takes
``?branch=<slug>`` and ``?kind=<kind>``, each repeated or comma-separated.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.http import is_resource_modified

from gathering import pagecache
from gathering.accounts.services import list_branches
from gathering.calendar import ics, services
from gathering.calendar.cache import feed_cache
from gathering.errors import GatheringError
from gathering.extensions import cache, db
from gathering.i18n import current_lang
from gathering.replay import replay_for
from gathering.timeutil import utcnow
from gathering.urls import external_url

bp = Blueprint("calendar", __name__)

ICS_MIMETYPE = "text/calendar; charset=utf-8"


# ---------------------------------------------------------------------------------------
# URLs


@bp.app_template_global()
def webcal(url: str) -> str:
    """webcal://… opens the subscribe dialog of the phone's or computer's calendar app."""
    scheme, sep, rest = url.partition("://")
    return f"webcal://{rest}" if sep and scheme in ("http", "https") else url


@bp.app_template_global()
def calendar_feed_url(registration) -> str:
    """The secret URL of a sign-up's personal feed (templates/calendar/_personal.html). It
    carries no language: the feed speaks the one the party signed up in."""
    return external_url("calendar.personal_feed", token=registration.feed_token)


def feed_urls(branches, lang: str | None = None) -> dict:
    """Every public feed's URL: all, per branch, per kind (the API and the page list them)."""
    extra = {"lang": lang} if lang and lang != "ja" else {}
    return {
        "all": external_url("calendar.feed_all", **extra),
        "branches": {b.slug: external_url("calendar.feed_branch", slug=b.slug, **extra)
                     for b in branches},
        "kinds": {k.value: external_url("calendar.feed_kind", kind=k.value, **extra)
                  for k in services.list_feed_kinds()},
    }


def _links() -> ics.Links:
    return ics.Links(
        event=lambda e: external_url("events.detail", event_id=e.id),
        series=lambda s, e: external_url("events.branch", slug=e.branch.slug),
    )


# ---------------------------------------------------------------------------------------
# HTTP


def _feed_lang(default: str = "ja") -> str:
    """The feed's language: ``?lang=`` (400 if unknown), else ``default``."""
    lang = request.args.get("lang") or default
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    return lang


def _http_date(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def calendar_response(body: bytes, modified: datetime, *, private: bool = False,
                      filename: str | None = None, etag: str | None = None) -> Response:
    """text/calendar with a strong ETag (a hash of the bytes, or of what determines them)
    and Last-Modified; 304 when the client's copy is current."""
    response = Response(body, content_type=ICS_MIMETYPE)
    response.set_etag(etag or hashlib.sha256(body).hexdigest()[:40])
    response.last_modified = _http_date(modified)
    seconds = current_app.config["FEED_CACHE_SECONDS"]
    if private:
        # a secret URL: browsers and the person's calendar app may keep it, shared caches not
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Referrer-Policy"] = "no-referrer"
    else:
        response.headers["Cache-Control"] = f"public, max-age={seconds}"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response.make_conditional(request)


def _filters(*, branch: str | None = None, kind: str | None = None) -> services.FeedFilter:
    slugs = services.split_values(([branch] if branch else []) + request.args.getlist("branch"))
    kinds = services.split_values(([kind] if kind else []) + request.args.getlist("kind"))
    try:
        return services.resolve_filter(db.session, slugs, kinds)
    except GatheringError as exc:
        abort(exc.status)


def _feed_name(feed: services.FeedFilter) -> str:
    if feed.is_all:
        return _("Tsudoi: all gatherings")
    names = [b.name for b in feed.branches] + [ics.kind_label(k) for k in feed.kinds]
    return _("Tsudoi: %(names)s", names="・".join(names))


def _public_feed(*, branch: str | None = None, kind: str | None = None) -> Response:
    """A public feed. Its ETag is a hash of everything its bytes depend on (the feed's
    version in the database, the day, language, base URL and settings), so a 304 costs
    one aggregate query and an unchanged feed is built once (cache.py).

    The version found is kept PAGE_CACHE_SECONDS for the same URL, like the public pages:
    calendar apps polling a feed then cost no query at all, and an edit reaches the feed
    at most that many seconds later."""
    key = f"feed:{request.host}{request.full_path}"
    known = cache.get(key) if pagecache.timeout() > 0 else None
    if known is not None:
        answer = _kept_feed(*known)
        if answer is not None:
            return answer
    feed = _filters(branch=branch, kind=kind)
    lang = _feed_lang()
    now = utcnow()
    config = current_app.config
    window = {"now": now, "past_days": config["FEED_PAST_DAYS"],
              "cancelled_days": config["CANCELLED_EVENTS_IN_FEED_DAYS"]}
    version = services.feed_version(db.session, feed, **window)
    key_parts = repr((
        [(b.id, b.slug, b.name) for b in feed.branches], feed.kinds, lang,
        config.get("PUBLIC_BASE_URL") or request.host_url, config["FEED_REFRESH_MINUTES"],
        window["past_days"], window["cancelled_days"], version))
    etag = hashlib.sha256(key_parts.encode()).hexdigest()[:40]
    modified = _http_date(version.last_modified)
    if pagecache.timeout() > 0:
        cache.set(key, (etag, modified), timeout=pagecache.timeout())
    answer = _kept_feed(etag, modified)
    if answer is None:
        events = services.feed_events(db.session, feed, **window)
        with force_locale(lang):
            body = ics.public_feed_bytes(
                events, name=_feed_name(feed),
                description=_("Community gatherings: dates, places and fees. Sign up on "
                              "the event's page."),
                refresh_minutes=config["FEED_REFRESH_MINUTES"], links=_links(), lang=lang,
                cache=feed_cache("vevents"))
        feed_cache().put(etag, body)
        answer = _kept_feed(etag, modified, body)
    return answer


def _kept_feed(etag: str, modified: datetime, body: bytes | None = None) -> Response | None:
    """The answer for a feed version whose bytes are kept: 304 when the client has them,
    else the bytes, gzip-compressed (once a version) when the client takes gzip — calendar
    apps do, and a thousand events shrink from about 650 KB to a tenth. None when the
    bytes are neither given nor kept by this process."""
    packed = request.accept_encodings["gzip"] > 0
    tag = f"{etag}-gz" if packed else etag  # two representations, two strong ETags
    response = None
    if not is_resource_modified(request.environ, etag=tag, last_modified=modified):
        response = calendar_response(b"", modified, etag=tag)
    else:
        body = body if body is not None else feed_cache().get(etag)
        if body is None:
            return None
        if packed:
            zipped = feed_cache("gzip").get(etag)
            if zipped is None:
                zipped = gzip.compress(body, compresslevel=6, mtime=0)
                feed_cache("gzip").put(etag, zipped)
            response = calendar_response(zipped, modified, etag=tag)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = calendar_response(body, modified, etag=tag)
        # the same URL is answered from memory before Flask runs, while the version is kept
        replay_for(pagecache.timeout())
    response.vary.add("Accept-Encoding")
    return response


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    try:
        event = services.get_event_for_ics(db.session, event_id)
    except GatheringError:
        abort(404)
    lang = current_lang()
    cal = ics.single_event(event, url=external_url("events.detail", event_id=event.id),
                           lang=lang, name=event.title)
    response = calendar_response(ics.to_ical(cal), event.updated_at,
                                 filename=f"tsudoi-event-{event.id}.ics")
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.get("/calendar/all.ics")
def feed_all():
    return _public_feed()


@bp.get("/calendar/branches/<slug>.ics")
def feed_branch(slug: str):
    return _public_feed(branch=slug)


@bp.get("/calendar/kinds/<kind>.ics")
def feed_kind(kind: str):
    return _public_feed(kind=kind)


@bp.get("/calendar/me/<token>.ics")
def personal_feed(token: str):
    try:
        registration = services.get_registration_by_feed_token(db.session, token)
    except GatheringError:
        abort(404)
    # the party's language (its reminders, 「もうすぐ…」 or "Soon: …"), unless the URL asks
    # for one: the URL shown on the manage page carries none, so old URLs keep working
    # and an English-speaking family's feed is English whatever phone opened the page
    party = registration.lang if registration.lang in current_app.config["LANGUAGES"] else "ja"
    lang = _feed_lang(party)
    config = current_app.config
    with force_locale(lang):
        cal = ics.personal_feed(
            [registration], name=_("Tsudoi: my sign-ups"),
            refresh_minutes=config["FEED_REFRESH_MINUTES"],
            urls={registration.id: external_url("events.detail",
                                                event_id=registration.event_id)},
            lang=lang, reminder_minutes=config["FEED_REMINDER_MINUTES"])
        body = ics.to_ical(cal)
    modified = max(registration.updated_at, registration.event.updated_at)
    return calendar_response(body, modified, private=True)


@bp.get("/calendar")
def subscribe():
    """How to add a feed to Google Calendar or an iPhone, with every feed's link."""
    lang = current_lang()
    branches = list_branches(db.session)
    urls = feed_urls(branches, lang)
    kinds = services.list_feed_kinds()
    chosen = None  # ?branch=<slug> (from a branch's page): that feed comes first
    slug = request.args.get("branch")
    if slug:
        chosen = next((b for b in branches if b.slug == slug), None)
        if chosen is None:
            abort(404)
    return render_template(
        "calendar/subscribe.html",
        chosen=(chosen, urls["branches"][chosen.slug]) if chosen else None,
        all_url=urls["all"],
        branch_feeds=[(b, urls["branches"][b.slug]) for b in branches],
        kind_feeds=[(k, urls["kinds"][k.value]) for k in kinds],
    )
