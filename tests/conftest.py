"""Shared fixtures: one migrated database per test run (a SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), emptied after every test; factories that return callables."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import TestingConfig, database_url
from gathering import create_app
from gathering.accounts import services as accounts
from gathering.accounts.models import Branch
from gathering.events import services as events
from gathering.extensions import db, limiter
from gathering.timeutil import TOKYO

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> str:
    raw = os.environ.get("TEST_DATABASE_URL")
    if raw:
        return database_url(raw)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def make_app(database_uri):
    """Build an app on the test database with settings overridden: make_app(KEY=value)."""

    def _make(**overrides):
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_uri)
        return create_app(TestingConfig, overrides)

    return _make


@pytest.fixture(scope="session")
def _migrated(make_app):
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                db.metadata.drop_all(conn)
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()  # the schema comes from the migrations, as in production
        db.engine.dispose()
    return app


@pytest.fixture
def app(_migrated):
    app = _migrated
    # Flask-Limiter keeps one switch for the process: a make_app(RATELIMIT_ENABLED=True) of
    # an earlier test must not rate-limit this one.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.rollback()
    db.session.remove()
    _empty_tables()
    ctx.pop()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for services: Friday 2026-11-27 10:00 in Tokyo."""
    return datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO)


_seq = itertools.count(1)


@pytest.fixture
def make_branch(app):
    def _make(slug: str | None = None, name: str | None = None, **kw) -> Branch:
        n = next(_seq)
        branch = Branch(slug=slug or f"branch-{n}", name=name or f"支部{n}", region="関東", **kw)
        db.session.add(branch)
        db.session.flush()
        return branch

    return _make


@pytest.fixture
def make_user(app, make_branch):
    def _make(role: str = "organizer", branches=None, email: str | None = None):
        if branches is None and role != "admin":
            branches = [make_branch()]
        user = accounts.create_user(
            db.session, email or f"user{next(_seq)}@example.org", role=role, password=PASSWORD,
            branch_slugs=[b.slug for b in branches or []])
        db.session.commit()
        return user

    return _make


@pytest.fixture
def make_event(app, make_branch, make_user):
    """make_event(branch=..., capacity=10, fees=[...], starts_in=timedelta(days=7), ...)."""
    admin_holder = {}

    def _make(branch: Branch | None = None, *, starts_at: datetime | None = None,
              hours: float = 3, status: str = "published", fees=None, **data):
        branch = branch or make_branch()
        if "admin" not in admin_holder:
            admin_holder["admin"] = make_user("admin")
        start = starts_at or (datetime.now(TOKYO).replace(microsecond=0, second=0, minute=0)
                              + timedelta(days=7))
        payload = {"title": "子ども食堂", "kind": "kids_cafeteria", "starts_at": start,
                   "ends_at": start + timedelta(hours=hours), "status": status,
                   "fees": fees if fees is not None else [
                       {"code": "child", "label": "こども", "amount": 0},
                       {"code": "adult", "label": "おとな", "amount": 300}],
                   "venue": {"name": "公民館", "postal_code": "070-0031",
                             "address": "北海道旭川市1条通8丁目"}}
        payload.update(data)
        cleaned = events.clean_event_data(payload)
        event = events.create_event(db.session, admin_holder["admin"], branch, cleaned)
        db.session.commit()
        return event

    return _make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user, password: str = PASSWORD):
        return self.client.post("/login", data={"email": user.email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def api_token(app):
    """api_token(user) → a bearer header dict for that user."""

    def _make(user) -> dict:
        token = accounts.create_token(db.session, user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _make


@pytest.fixture
def make_registration(app, make_event):
    """make_registration(event, people=["child", "adult"], status="confirmed", ...).

    Inserts rows directly (as the sign-up service would leave them), so tests of other
    domains do not depend on the sign-up rules. Returns (registration, manage_token).
    """
    from gathering.events.models import Event
    from gathering.rsvp.models import Attendee, Registration
    from gathering.security import new_token, token_hash

    def _make(event=None, people=("child", "adult"), *, status="confirmed",
              family_name="山田", given_name="花子", kana=("ヤマダ", "ハナコ"),
              phone="09012345678", email="hanako@example.org", allergens=None, diets=None):
        event = event or make_event(capacity=40)
        token = new_token()
        reg = Registration(event_id=event.id, status=status, family_name=family_name,
                           given_name=given_name, family_name_kana=kana[0],
                           given_name_kana=kana[1], phone=phone, email=email,
                           manage_token_hash=token_hash(token), ticket_token=new_token())
        fees = {f.code: f for f in event.fees}
        for i, code in enumerate(people):
            reg.attendees.append(Attendee(
                position=i, fee_category=fees.get(code), name="",
                allergens=(allergens or {}).get(i, []), diets=(diets or {}).get(i, [])))
        db.session.add(reg)
        if status == "confirmed":
            db.session.execute(sa.update(Event).where(Event.id == event.id)
                               .values(seats_taken=Event.seats_taken + len(people)))
        db.session.commit()
        db.session.refresh(event)
        return reg, token

    return _make


# ---------------------------------------------------------------------------------------
# A real server and a real browser


class LiveServer:
    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app served on 127.0.0.1 (a secure context for the camera API) in a thread."""
    server = LiveServer(app)
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def require_chromium() -> None:
    """Skip with a reason when Debian's chromium is missing, except under CI=true."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing under CI=true: .ci/run must install chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)")


@pytest.fixture(scope="session")
def playwright_instance():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (390×844)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="ja-JP",
                                  bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()
