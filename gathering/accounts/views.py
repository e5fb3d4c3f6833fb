"""Log in and out (organizers, volunteers and admins; residents have no account)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from gathering.accounts import services
from gathering.accounts.forms import LoginForm
from gathering.extensions import db, limiter

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _safe_next(target: str | None) -> str | None:
    """``next`` when it is a path on this site, else None. Browsers read a backslash as a
    slash (``/\\evil.example`` goes to evil.example) and drop tabs and newlines, so any of
    those, or a control character, makes it not ours."""
    if not target or any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("organizer.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            flash(_("The e-mail address or password is wrong."), "error")
        else:
            login_user(user, remember=form.remember.data)
            db.session.commit()
            flash(_("Logged in."), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("organizer.dashboard"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("Logged out."), "success")
    response = redirect(url_for("events.index"))
    # The door scanner keeps the event's check-in list (allergies included) on the phone for
    # offline use; logging out wipes it, with the scanner's service worker and caches.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
