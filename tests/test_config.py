"""Configuration from the environment: production refuses to start without a secret; the
default database is a SQLite file under instance/ with WAL and foreign keys on."""

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

import config
from config import BASE_DIR, ProductionConfig, TestingConfig, database_url
from gathering import create_app


def test_production_without_secret_key_refuses_to_start(monkeypatch, database_uri):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    assert config.config_from_env() is ProductionConfig
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(overrides={"SQLALCHEMY_DATABASE_URI": database_uri})


def test_wsgi_in_production_without_secret_key_exits(database_uri):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(APP_ENV="production", DATABASE_URL=database_uri)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_with_a_secret_key_starts_with_secure_cookies(monkeypatch, database_uri):
    monkeypatch.setenv("SECRET_KEY", "a real secret from the environment")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app(ProductionConfig, {"SQLALCHEMY_DATABASE_URI": database_uri,
                                        "SECRET_KEY": "a real secret from the environment",
                                        "PUBLIC_BASE_URL": "https://tsudoi.example.jp"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not app.debug and not app.testing


def test_default_database_is_a_sqlite_file_under_instance():
    assert database_url(None) == f"sqlite:///{BASE_DIR / 'instance' / 'tsudoi.sqlite3'}"
    assert database_url("  ") == database_url(None)


@pytest.mark.parametrize("raw, expected", [
    ("postgres://u:p@db/tsudoi", "postgresql+psycopg://u:p@db/tsudoi"),
    ("postgresql://u@db/tsudoi", "postgresql+psycopg://u@db/tsudoi"),
    ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
    ("sqlite:////srv/tsudoi.db", "sqlite:////srv/tsudoi.db"),
])
def test_database_url_variants(raw, expected):
    assert database_url(raw) == expected


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db"})
    from gathering.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        db.engine.dispose()


def test_the_test_database_enforces_foreign_keys(app):
    from gathering.extensions import db
    from gathering.rsvp.models import Registration

    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(Registration(event_id=999_999, status="confirmed", family_name="x",
                                    given_name="y", family_name_kana="", given_name_kana="",
                                    phone="", email="", manage_token_hash="h" * 64,
                                    ticket_token="t"))
        db.session.flush()
    db.session.rollback()


def test_env_overrides(monkeypatch):
    monkeypatch.setenv("FEW_SEATS_LEFT", "3")
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    assert config._int("FEW_SEATS_LEFT", 5) == 3
    assert config._bool("RATELIMIT_ENABLED", True) is False
    monkeypatch.setenv("RATELIMIT_ENABLED", "")
    assert config._bool("RATELIMIT_ENABLED", True) is True


def test_behind_a_trusted_proxy_rate_limits_see_the_residents_address(make_app, make_user):
    from gathering.extensions import db

    email = make_user("organizer").email
    db.session.rollback()
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2 per minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    for _ in range(2):
        client.post("/login", data={"email": email, "password": "x"},
                    headers={"X-Forwarded-For": "203.0.113.1"})
    assert client.post("/login", data={"email": email, "password": "x"},
                       headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # another phone behind the same proxy is not punished for the first one
    assert client.post("/login", data={"email": email, "password": "x"},
                       headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200


def test_every_environment_variable_is_documented_in_the_readme():
    import re

    source = (BASE_DIR / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'(?:environ\.get|_int|_bool)\(\s*"([A-Z_]+)"', source))
    assert {"SECRET_KEY", "DATABASE_URL", "APP_ENV", "RATELIMIT_STORAGE_URI"} <= names
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"add these to the README's configuration table: {missing}"


def test_an_sqlite_too_old_for_returning_is_refused_with_a_clear_message():
    from gathering import MIN_SQLITE, _require_sqlite

    _require_sqlite(MIN_SQLITE, (3, 35, 0))
    _require_sqlite(MIN_SQLITE, (3, 45, 1))
    with pytest.raises(RuntimeError, match=r"SQLite 3\.35 or newer \(this Python has 3\.34\.1\)"):
        _require_sqlite(MIN_SQLITE, (3, 34, 1))
