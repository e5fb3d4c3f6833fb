"""Configuration read from the environment, with defaults that work on one machine alone."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number (got {value!r}).") from None


def _log_level(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip().upper() or default
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise RuntimeError(f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL "
                           f"(got {os.environ.get(name)!r}).")
    return value


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def database_url(raw: str | None) -> str:
    """A SQLAlchemy URL from DATABASE_URL; the SQLite file under instance/ when empty."""
    url = (raw or "").strip()
    if not url:
        return f"sqlite:///{BASE_DIR / 'instance' / 'tsudoi.sqlite3'}"
    # Heroku-style and plain postgres:// URLs go through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment; each can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"
    #: earlier keys (comma-separated), still accepted for signed sessions and links while
    #: a new SECRET_KEY takes over: a key rotated without logging everyone out
    SECRET_KEY_FALLBACKS = _list("SECRET_KEY_FALLBACKS")
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    #: PostgreSQL connections are checked before use (a restarted server); SQLite's are not
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Sessions are signed cookies: the app servers keep no state of their own.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    #: 「ログインしたままにする」 lasts this many days on that browser
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_COOKIE_DAYS", 365))
    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone for hours still submits
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 64 * 1024)
    #: the organizers' event and series forms (and the events API): a description of 20,000
    #: Japanese characters is 180 KB once a form encodes it (9 bytes a character)
    ORGANIZER_MAX_CONTENT_LENGTH = _int("ORGANIZER_MAX_CONTENT_LENGTH", 512 * 1024)
    #: reverse proxies (nginx, a load balancer) in front of the app whose X-Forwarded-For and
    #: X-Forwarded-Proto are trusted; 0 = none. Rate limits need the resident's address.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    #: Strict-Transport-Security max-age on answers over HTTPS (0 = not sent): browsers
    #: then never try plain HTTP for this host, where a café's Wi-Fi could read cookies
    HSTS_SECONDS = _int("HSTS_SECONDS", 0)

    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    LANGUAGES = ("ja", "en")
    DISPLAY_TIMEZONE = "Asia/Tokyo"

    # Rate limits: generous, since mobile carriers put many phones behind one address.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    #: every limit of a route is counted and read, also after one refused: a refusal's
    #: Retry-After then waits for each window used up (a minute's and an hour's both
    #: spent: the hour), and a refused login still counts against the hour
    RATELIMIT_FAIL_ON_FIRST_BREACH = False
    RATELIMIT_HEADERS_ENABLED = True
    #: a shared store (Redis) that cannot be reached counts in memory per process meanwhile,
    #: rather than refusing every sign-up, login and scan with a 500
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute;50 per hour")
    RATELIMIT_SIGNUP_PER_IP = os.environ.get("RATELIMIT_SIGNUP_PER_IP", "60 per minute;600 per hour")
    RATELIMIT_SIGNUP_PER_EVENT = os.environ.get("RATELIMIT_SIGNUP_PER_EVENT", "300 per minute")
    RATELIMIT_LOST_LINK = os.environ.get("RATELIMIT_LOST_LINK", "5 per minute;30 per hour")
    RATELIMIT_CHECKIN = os.environ.get("RATELIMIT_CHECKIN", "600 per minute")
    RATELIMIT_API_WRITE = os.environ.get("RATELIMIT_API_WRITE", "120 per minute")

    # Public listing pages (index, branch pages) are kept this many seconds for visitors who
    # are not logged in: seats left may lag by that much; sign-up itself always counts live.
    PAGE_CACHE_SECONDS = _int("PAGE_CACHE_SECONDS", 10)
    #: the app's log (mails written to it when no MAIL_SERVER is set, mails sent, errors)
    LOG_LEVEL = _log_level("LOG_LEVEL", "INFO")
    CACHE_TYPE = os.environ.get("CACHE_TYPE", "SimpleCache")  # "RedisCache" for several servers
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
    CACHE_THRESHOLD = _int("CACHE_THRESHOLD", 2000)  # most pages kept per process (SimpleCache)

    # Bearer tokens' users are kept this many seconds per process (a door phone sends its
    # token with every scan): a revoked token or a changed role takes effect within it.
    API_TOKEN_CACHE_SECONDS = _int("API_TOKEN_CACHE_SECONDS", 10)

    # Recurring series: how far ahead occurrences are materialised.
    SERIES_HORIZON_MONTHS = _int("SERIES_HORIZON_MONTHS", 6)
    EVENTS_PER_PAGE = _int("EVENTS_PER_PAGE", 20)

    # Sign-up
    MAX_PARTY_SIZE = _int("MAX_PARTY_SIZE", 10)
    FEW_SEATS_LEFT = _int("FEW_SEATS_LEFT", 5)  # 残りわずか at or below this many seats
    SENSITIVE_DATA_RETENTION_DAYS = _int("SENSITIVE_DATA_RETENTION_DAYS", 30)
    #: the answers kept for repeated requests (a double tap, a door phone's queue sent when
    #: the network returns) are deleted after this many days (flask purge-sensitive)
    IDEMPOTENCY_RECORD_DAYS = _int("IDEMPOTENCY_RECORD_DAYS", 7)

    # Fees and receipts (領収書)
    #: a revenue-stamp (収入印紙) box is printed from this amount on, for branches that ask
    RECEIPT_STAMP_THRESHOLD = _int("RECEIPT_STAMP_THRESHOLD", 50_000)
    #: the largest single payment, refund or waiver accepted, in yen (typing mistakes)
    MAX_PAYMENT_YEN = _int("MAX_PAYMENT_YEN", 1_000_000)
    #: a resident issuing receipts or rendering PDFs from their link (PDFs cost CPU)
    RATELIMIT_RECEIPT = os.environ.get("RATELIMIT_RECEIPT", "30 per hour")

    # Calendar feeds
    CANCELLED_EVENTS_IN_FEED_DAYS = _int("CANCELLED_EVENTS_IN_FEED_DAYS", 30)
    FEED_REMINDER_MINUTES = _int("FEED_REMINDER_MINUTES", 24 * 60)
    FEED_PAST_DAYS = _int("FEED_PAST_DAYS", 90)  # past events kept in feeds (recent history)
    FEED_REFRESH_MINUTES = _int("FEED_REFRESH_MINUTES", 60)  # REFRESH-INTERVAL asked of apps
    FEED_CACHE_SECONDS = _int("FEED_CACHE_SECONDS", 300)  # Cache-Control max-age of feeds
    FEED_CACHE_MB = _int("FEED_CACHE_MB", 64)  # built feeds kept in memory per process

    # Mail: printed to the log when MAIL_SERVER is empty (in production only its recipient
    # and subject: a body holds a family's secret links and allergies).
    MAIL_LOG_BODIES = _bool("MAIL_LOG_BODIES", True)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "つどい <noreply@tsudoi.invalid>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)  # seconds to reach the SMTP server

    # Absolute links in mail, QR codes and feeds when there is no request (CLI, cron).
    SERVER_NAME = os.environ.get("SERVER_NAME") or None
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    DEBUG = _bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL"))
    WTF_CSRF_ENABLED = False
    # scrypt at low cost: the suite creates hundreds of accounts; production keeps the default.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105 - a method name, not a password
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    PAGE_CACHE_SECONDS = 0  # tests see every change at once; test_page_cache turns it on
    API_TOKEN_CACHE_SECONDS = 0  # likewise; tests/accounts/test_token_cache.py turns it on
    CACHE_TYPE = "SimpleCache"
    MAIL_SERVER = ""


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    MAIL_LOG_BODIES = _bool("MAIL_LOG_BODIES", False)
    HSTS_SECONDS = _int("HSTS_SECONDS", 365 * 24 * 3600)

    @classmethod
    def validate(cls, overrides: dict | None = None) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
        base = (overrides or {}).get("PUBLIC_BASE_URL", cls.PUBLIC_BASE_URL) or ""
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") \
                or parts.query or parts.fragment:
            raise RuntimeError(
                "PUBLIC_BASE_URL must be set in production (APP_ENV=production) to the "
                "scheme and host residents open, e.g. https://tsudoi.example.jp: links in "
                "mail and QR codes are built on it, never on the Host header a visitor "
                f"sends (got {base!r}).")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The class APP_ENV names; a name that is none of them refuses to start (a typo such as
    "prod" must not serve production with the development secret)."""
    name = os.environ.get("APP_ENV", "").strip() or "development"
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)} (got {name!r}).")
    return CONFIGS[name]
