"""HTTP error pages: HTML for people, the API's JSON error shape under /api."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
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


def register_error_handlers(app) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
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
            return json_error(exc.status, exc.code, exc.message, exc.fields)
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
