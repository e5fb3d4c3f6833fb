"""HTTP error pages: HTML for people, the API's JSON error shape under /api."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gathering.errors import GatheringError

MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please log in or send a valid token."),
    403: lambda: _("You are not allowed to do this."),
    404: lambda: _("This page does not exist."),
    405: lambda: _("This method is not allowed here."),
    409: lambda: _("This conflicts with the current state."),
    413: lambda: _("What you sent is too large."),
    422: lambda: _("Some fields are invalid."),
    429: lambda: _("Too many requests. Please wait a moment and try again."),
    500: lambda: _("Something went wrong on our side. Please try again later."),
}
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
    429: "rate_limited", 500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def json_error(status: int, code: str | None = None, message=None, fields: dict | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"),
                      "message": str(message or MESSAGES.get(status, MESSAGES[400])())}}
    if fields:
        body["error"]["fields"] = {k: [str(m) for m in v] for k, v in fields.items()}
    return jsonify(body), status


def csrf_message() -> str:
    """A form sent with a stale or missing CSRF token: the API's csrf_failed words."""
    return _("The page was open too long or the request came from elsewhere. Reload the "
             "page and try again.")


def back_url() -> str | None:
    """Where "back to the page" leads after a refused form: the page that sent it (the
    Referer) when it is one of ours, as a path on this site; None otherwise (the error page
    then links home). Another site's address is never linked."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    ours = {(urlsplit(request.host_url).scheme, request.host)}
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    if base:
        ours.add((urlsplit(base).scheme, urlsplit(base).netloc))
    path = parts.path or "/"
    if (parts.scheme, parts.netloc) not in ours or not path.startswith("/") or (
            path.startswith("//") or "\\" in path):
        return None
    return urlunsplit(("", "", path, parts.query, ""))


def register_error_handlers(app) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        if isinstance(exc, CSRFError):
            # not a request we cannot read: a page left open (its session gone) or sent from
            # elsewhere. Say so, and lead back to the page to load it again.
            if wants_json():
                return json_error(status, "csrf_failed", csrf_message())
            return render_template("errors/error.html", status=status,
                                   message=csrf_message(), back_url=back_url(),
                                   back_label=_("Back to the page")), status
        if wants_json():
            response, status = json_error(status)
            if status == 405 and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response, status
        message = MESSAGES.get(status, MESSAGES[400])()
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(GatheringError)
    def _domain(exc: GatheringError):
        # A refusal writes nothing: whatever the request flushed before it is undone.
        from gathering.extensions import db

        db.session.rollback()
        if wants_json():
            response, status = json_error(exc.status, exc.code, exc.message, exc.fields)
            if status == 401:  # RFC 6750: say how to authenticate
                response.headers["WWW-Authenticate"] = 'Bearer realm="tsudoi"'
            return response, status
        return render_template(
            "errors/error.html", status=exc.status, message=str(exc.message)
        ), exc.status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http(exc)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        from gathering.extensions import db

        db.session.rollback()
        if app.testing and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise exc
        if wants_json():
            return json_error(500)
        return render_template("errors/error.html", status=500, message=MESSAGES[500]()), 500
