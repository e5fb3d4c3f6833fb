"""Refusals of the domain rules: each carries a stable code that views and the API map."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class GatheringError(Exception):
    """A rule said no. ``code`` is stable and part of the API; ``message`` is translated."""

    code = "error"
    status = 409
    default_message = _l("This cannot be done.")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None,
                 status: int | None = None, **details):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        self.details = details
        super().__init__(str(self.code))


class NotFound(GatheringError):
    code = "not_found"
    status = 404
    default_message = _l("Not found.")


class Forbidden(GatheringError):
    code = "forbidden"
    status = 403
    default_message = _l("You are not allowed to do this.")


class ValidationFailed(GatheringError):
    """Fields are invalid: ``fields`` maps a field name to a list of messages."""

    code = "invalid"
    status = 422
    default_message = _l("Some fields are invalid.")


class Conflict(GatheringError):
    code = "conflict"
    status = 409


class NulCharacter(GatheringError):
    """A NUL character (\\0) in a path, query, form or JSON text: no page types one, and
    PostgreSQL cannot store it, so the request is refused before anything reads it."""

    code = "nul_character"
    status = 400
    default_message = _l("What was sent holds an invalid character (NUL). Please send it "
                         "again without it.")
