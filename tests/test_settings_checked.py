"""Settings an operator can get wrong stop the app with a message naming them, and the
production defaults keep logins and families' data safe (cookies, logs, caches)."""

from __future__ import annotations

import logging
import re

import pytest

import config
from config import ProductionConfig, TestingConfig
from gathering import create_app
from gathering.extensions import db
from tests.conftest import PASSWORD

PUBLIC = "https://tsudoi.example.jp"


@pytest.mark.parametrize("value", ["prod", "Production", "staging"])
def test_an_unknown_app_env_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("APP_ENV", value)
    with pytest.raises(RuntimeError, match=f"APP_ENV must be one of .*{value!r}"):
        config.config_from_env()


def test_an_empty_app_env_is_development(monkeypatch):
    monkeypatch.setenv("APP_ENV", " ")
    assert config.config_from_env() is config.DevelopmentConfig


def test_a_number_that_is_none_names_its_variable(monkeypatch):
    monkeypatch.setenv("MAX_PARTY_SIZE", "abc")
    with pytest.raises(RuntimeError, match="MAX_PARTY_SIZE must be a whole number"):
        config._int("MAX_PARTY_SIZE", 10)
    monkeypatch.setenv("MAX_PARTY_SIZE", " 12 ")
    assert config._int("MAX_PARTY_SIZE", 10) == 12


def test_an_unknown_log_level_names_its_variable(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    with pytest.raises(RuntimeError, match="LOG_LEVEL must be DEBUG"):
        config._log_level("LOG_LEVEL", "INFO")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert config._log_level("LOG_LEVEL", "INFO") == "WARNING"


@pytest.mark.parametrize("name, value", [("RATELIMIT_SIGNUP_PER_IP", "60/minute;600/hr"),
                                         ("RATELIMIT_LOGIN", "ten per minute"),
                                         ("RATELIMIT_CHECKIN", "")])
def test_a_rate_limit_that_does_not_parse_refuses_to_start(database_uri, name, value):
    # Flask-Limiter would only log it and leave the route without any limit
    with pytest.raises(RuntimeError, match=f"{name} must be limits"):
        create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_uri, name: value})


def test_logins_go_on_while_the_rate_limit_store_is_unreachable(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    email = make_user("organizer").email
    db.session.rollback()
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302 and "/organizer" in response.headers["Location"]


@pytest.fixture
def production(monkeypatch, database_uri):
    monkeypatch.setenv("SECRET_KEY", "a real secret from the environment")
    return create_app(ProductionConfig, {"SQLALCHEMY_DATABASE_URI": database_uri,
                                         "SECRET_KEY": "a real secret from the environment",
                                         "PUBLIC_BASE_URL": PUBLIC,
                                         "RATELIMIT_ENABLED": False, "MAIL_SERVER": ""})


def test_keep_me_logged_in_is_an_https_only_cookie_in_production(production, app, make_user):
    email = make_user("organizer").email
    db.session.rollback()
    client = production.test_client()
    page = client.get("/login", base_url=PUBLIC).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", base_url=PUBLIC, headers={"Referer": PUBLIC + "/login"},
                           data={"email": email, "password": PASSWORD, "remember": "y",
                                 "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "remember_token" in cookies, cookies
    for name in ("remember_token", "session"):
        assert "; Secure" in cookies[name] and "HttpOnly" in cookies[name], cookies[name]


def test_production_logs_no_mail_body_without_a_mail_server(production, make_event,
                                                            make_registration, caplog):
    make_registration(make_event(capacity=10), email="hanako@example.jp")
    db.session.rollback()
    client = production.test_client()
    page = client.get("/r/lost", base_url=PUBLIC).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    with caplog.at_level(logging.INFO, logger=production.logger.name):
        response = client.post("/r/lost", base_url=PUBLIC,
                               headers={"Referer": PUBLIC + "/r/lost"},
                               data={"email": "hanako@example.jp", "csrf_token": token})
    assert response.status_code == 302
    logged = caplog.text
    assert "Mail not sent" in logged and "hanako@example.jp" in logged
    assert "/r/" not in logged and "山田" not in logged  # no link, no name


def test_api_answers_for_a_bearer_token_are_never_stored(client, make_user, make_event,
                                                         make_registration, api_token):
    event = make_event(capacity=10)
    make_registration(event)
    headers = api_token(make_user("organizer", branches=[event.branch]))
    for path in (f"/api/v1/events/{event.id}/registrations", f"/api/v1/events/{event.id}/money",
                 f"/api/v1/events/{event.id}/checkin-list"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert "no-store" in response.headers["Cache-Control"], path
    public = client.get(f"/api/v1/events/{event.id}")
    assert "no-store" not in public.headers["Cache-Control"]
