"""Tsudoi (つどい): sign-ups, check-in, fees and calendars for community gatherings."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from config import BASE_DIR, Config, ProductionConfig, config_from_env
from gathering.accounts.session import SessionInterface
from gathering.errors import NulCharacter


def create_app(config: type[Config] | None = None, overrides: dict | None = None) -> Flask:
    """Build the application: the only place that wires everything together.

    ``config`` defaults to the class APP_ENV names (development, testing, production);
    ``overrides`` replaces single settings (tests use it for the database URL).
    """
    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    config = config or config_from_env()
    if issubclass(config, ProductionConfig):
        config.validate(overrides)
    app.config.from_object(config)
    app.config.update(overrides or {})
    _check_rate_limits(app.config)
    # Flask leaves its logger at the root's WARNING: the mails logged when no MAIL_SERVER is
    # set (and the record of mails sent) are INFO, and an operator must see them.
    app.logger.setLevel(app.config["LOG_LEVEL"])
    if issubclass(config, ProductionConfig) and not app.config.get("MAIL_SERVER"):
        app.logger.warning("MAIL_SERVER is not set: no mail is sent (confirmations, manage "
                           "links); each is only noted in this log by recipient and subject.")

    from gathering.replay import ReplayMiddleware

    # inside ProxyFix: answers are kept under the scheme and host the visitor used
    app.wsgi_app = app.extensions["tsudoi.replay"] = ReplayMiddleware(
        app.wsgi_app, app.config.get("FEED_CACHE_MB", 64) * 1024 * 1024)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        _require_sqlite(MIN_SQLITE)
        # A file on this machine has no connection that can go stale: no ping before each
        # request's first statement (a tenth of a page's time).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}

    # Ids in URLs are database integers: a larger number is simply unknown (404), never an
    # overflow in the database driver (500).
    app.url_map.converters["int"] = _DatabaseId

    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)

    from gathering import cli, templating
    from gathering.errors_http import register_error_handlers

    templating.init_app(app)
    register_error_handlers(app)
    cli.init_app(app)
    return app


#: UPDATE … RETURNING and INSERT … RETURNING (the hot writes read back what they wrote)
MIN_SQLITE = (3, 35)


def _require_sqlite(minimum: tuple[int, int], version: tuple[int, ...] | None = None) -> None:
    import sqlite3

    version = version or sqlite3.sqlite_version_info
    if tuple(version[:2]) < minimum:
        raise RuntimeError(
            "Tsudoi needs SQLite {} or newer (this Python has {}); use a newer Python or "
            "set DATABASE_URL to PostgreSQL.".format(
                ".".join(map(str, minimum)), ".".join(map(str, version))))


def _up_to(limit: str) -> str:
    """A regex of the decimal numbers from 0 to ``limit`` (leading zeros allowed): any
    shorter number, or one that keeps the limit's first digits and is below it at the
    next."""
    shorter = f"0*[0-9]{{1,{len(limit) - 1}}}" if len(limit) > 1 else "0*"
    below = [f"{limit[:i]}[0-{int(d) - 1}][0-9]{{{len(limit) - i - 1}}}"
             for i, d in enumerate(limit) if d != "0"]
    return "(?:" + "|".join([shorter, *below, limit]) + ")"


class _DatabaseId(IntegerConverter):
    """Ids up to PostgreSQL's integer. A larger one must not match the rule's pattern at
    all: refused by ``to_python`` instead, Werkzeug answers 405 where a rule of another
    method has the same path (GET /events/2147483648/registrations), not 404."""

    regex = _up_to(str(2**31 - 1))


def _init_extensions(app: Flask) -> None:
    from gathering import models  # noqa: F401 - every model registered before use
    from gathering.extensions import babel, cache, csrf, db, limiter, login_manager, migrate
    from gathering.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(BASE_DIR / "translations"),
    )
    limiter.init_app(app)
    cache.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # Logins carry a fingerprint of the password (User.get_id); the loader checks it.
    from gathering.accounts.session import load_user

    login_manager.user_loader(load_user)


def _register_blueprints(app: Flask) -> None:
    from gathering import api
    from gathering.accounts.views import bp as accounts_bp
    from gathering.calendar.views import bp as calendar_bp
    from gathering.checkin.views import bp as checkin_bp
    from gathering.events.views import bp as events_bp
    from gathering.fees.views import bp as fees_bp
    from gathering.organizer.views import bp as organizer_bp
    from gathering.rsvp.views import bp as rsvp_bp

    app.register_blueprint(events_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(organizer_bp)
    app.register_blueprint(rsvp_bp)
    app.register_blueprint(fees_bp)
    app.register_blueprint(checkin_bp)
    app.register_blueprint(calendar_bp)
    api.init_app(app)


#: the settings that hold a rate limit ("10 per minute;50 per hour")
RATE_LIMIT_SETTINGS = ("RATELIMIT_LOGIN", "RATELIMIT_SIGNUP_PER_IP", "RATELIMIT_SIGNUP_PER_EVENT",
                       "RATELIMIT_LOST_LINK", "RATELIMIT_CHECKIN", "RATELIMIT_API_WRITE",
                       "RATELIMIT_RECEIPT")


def _check_rate_limits(config) -> None:
    """A limit that does not parse refuses to start: Flask-Limiter would log it and leave
    that route without any limit."""
    from limits import parse_many

    for name in RATE_LIMIT_SETTINGS:
        value = config.get(name, "")
        try:
            parse_many(value)
        except ValueError:
            raise RuntimeError(f"{name} must be limits such as \"10 per minute;50 per hour\" "
                               f"(got {value!r}).") from None


#: Security headers of every answer (set once here; a view may set its own first).
SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
     "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
     "frame-ancestors 'none'; form-action 'self'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
)
#: Paths behind a secret link or a login, whatever the session says.
#: JSON routes that take an event's long description, as the organizers' forms do
_LONG_TEXT_ENDPOINTS = frozenset({"api.create_event", "api.update_event"})
#: bodies whose fields the request hook reads for a NUL character (JSON: ``api.json_body``)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PRIVATE_PREFIXES = ("/r/", "/c/", "/organizer", "/door", "/api/v1/registrations",
                    "/api/v1/checkins")


def _register_hooks(app: Flask) -> None:
    """One hook before and one after each request: every page pays for these, so they do
    only what they must (the benchmark measures them against a bare Flask route)."""
    from flask_babel import refresh

    from gathering.extensions import SqliteBegin, csrf, sqlite_begin
    from gathering.i18n import remember_locale

    app.session_interface = SessionInterface()

    # CSRF is checked here, for the methods that need it, instead of by Flask-WTF's own
    # hook, which looks up the view's exemptions on every request, GETs included.
    check_csrf = app.config.get("WTF_CSRF_CHECK_DEFAULT", True)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf_methods = frozenset(app.config.get("WTF_CSRF_METHODS") or
                             ("POST", "PUT", "PATCH", "DELETE"))

    @app.before_request
    def _request_state():
        # Per-request caches live on g. A request inside an app context that is already
        # pushed (tests, scripts) shares that g, so clear them: the user of the last
        # request and its language must never carry over to this one.
        g.pop("_login_user", None)
        g.pop("_lang", None)
        refresh()
        if request.blueprint == "organizer" or request.endpoint in _LONG_TEXT_ENDPOINTS:
            request.max_content_length = app.config["ORGANIZER_MAX_CONTENT_LENGTH"]
        query = request.query_string
        if b"%00" in query or b"\x00" in query or "\x00" in request.path or (
                request.mimetype in _FORM_TYPES
                and any("\x00" in key or "\x00" in "".join(values)
                        for key, values in request.form.lists())):
            raise NulCharacter()
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        # Reads never take SQLite's write lock; writes take it at BEGIN, or at their first
        # write if the view locks late (see extensions.py). Decided before any statement.
        if not writes:
            mode = SqliteBegin.DEFERRED
        elif getattr(app.view_functions.get(request.endpoint), "sqlite_locks_late", False):
            mode = SqliteBegin.LATE
        else:
            mode = SqliteBegin.IMMEDIATE
        g._begin_token = sqlite_begin.set(mode)
        if (writes and check_csrf and request.method in csrf_methods
                and app.config["WTF_CSRF_ENABLED"]):
            csrf.protect(apply_exemptions=True)

    @app.teardown_request
    def _reset_intent(exc):
        token = g.pop("_begin_token", None)
        if token is not None:
            sqlite_begin.reset(token)

    hsts = (f"max-age={app.config['HSTS_SECONDS']}" if app.config["HSTS_SECONDS"] > 0
            else None)

    @app.after_request
    def _headers(response):
        remember_locale(response)
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if hsts and request.is_secure:  # browsers ignore it over plain HTTP anyway
            headers["Strict-Transport-Security"] = hsts
        if "cache-control" not in present and request.endpoint != "static":
            headers["Cache-Control"] = "no-store" if _is_private(request) else "no-cache"
        return response


def _is_private(req) -> bool:
    """Pages behind a login, a bearer token or a secret link are never kept by caches."""
    from gathering.accounts.session import is_logged_in

    return (req.path.startswith(PRIVATE_PREFIXES) or "Authorization" in req.headers
            or is_logged_in())
