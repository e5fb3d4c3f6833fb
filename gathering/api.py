"""What all JSON routes share: the /api/v1 blueprint, bearer auth, errors, pagination and
the OpenAPI 3.1 document.

Each domain's ``api.py`` adds its routes to ``bp`` and describes them in ``OPENAPI_PATHS``
(and its schemas in ``OPENAPI_SCHEMAS``); a test checks the document against the url_map,
so the description cannot drift from the code.
"""

from __future__ import annotations

import importlib
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from gathering.accounts.models import ApiToken
from gathering.errors import GatheringError, NulCharacter
from gathering.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: domains whose api.py modules add routes and OpenAPI paths
API_MODULES = (
    "gathering.events.api",
    "gathering.rsvp.api",
    "gathering.fees.api",
    "gathering.checkin.api",
    "gathering.calendar.api",
)

MAX_PER_PAGE = 200


class ApiError(GatheringError):
    status = 400
    code = "bad_request"


def init_app(app) -> None:
    modules = []
    for name in API_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    csrf.exempt(bp)  # checked below: cookie sessions need X-CSRFToken, bearer tokens do not
    from gathering.accounts.services import TokenUsers

    app.extensions["tsudoi.token_users"] = TokenUsers(app.config["API_TOKEN_CACHE_SECONDS"])
    app.register_blueprint(bp)

    @app.get("/api/openapi.json")
    def openapi():
        return jsonify(build_openapi(modules))


@bp.before_request
def _authenticate():
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(_l("Use Authorization: Bearer <token>."), code="unauthorized",
                           status=401)
        user = current_app.extensions["tsudoi.token_users"].user(db.session, token.strip())
        if user is None:
            raise ApiError(_l("The token is not valid."), code="unauthorized", status=401)
        g.api_user = user
        g.api_auth = "bearer"
        # the token's last use when the lookup changed it (at most every
        # TOKEN_USE_PRECISION; only changed rows are walked, no statement): _record_token_use
        # writes it whatever the answer
        used = next((o for o in db.session.dirty if isinstance(o, ApiToken)), None)
        g.api_token_use = (used.id, used.last_used_at) if used is not None else None
        return None
    if current_user.is_authenticated:
        g.api_user = current_user._get_current_object()
        g.api_auth = "session"
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                csrf.protect()  # our own pages send X-CSRFToken
            except CSRFError:
                raise ApiError(_l("The page was open too long or the request came from "
                                  "elsewhere. Reload the page and try again."),
                               code="csrf_failed") from None
    return None


@bp.after_request
def _record_token_use(response):
    """Commit a bearer token's last use, whatever the answer was.

    ``list-tokens`` tells an operator whether a partner site still calls: a site whose
    every call is refused (a 422 on each sign-up it relays, a 403 on a branch it lost) is
    calling, and must not be shown "never used" and revoked as a dead token. A refusal
    rolls its transaction back, the token's use with it; so the use is written here on
    its own, after whatever the view left uncommitted is rolled back: a refused write's
    changes are never committed with it. The statement is guarded (a later use already
    stored is kept; a write that committed the use itself matches no row), and runs only
    when the lookup found the stored use older than TOKEN_USE_PRECISION: nearly every
    request passes here without one.
    """
    use = g.pop("api_token_use", None)
    if use is None:
        return response
    token_id, used_at = use
    try:
        db.session.rollback()  # nothing the view did not commit itself goes in with it
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id,
                   sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < used_at))
            .values(last_used_at=used_at)
            .execution_options(synchronize_session=False))
        db.session.commit()
    except sa.exc.SQLAlchemyError:  # a busy database: the request is answered all the same
        db.session.rollback()
        current_app.logger.warning("Could not record an API token's last use", exc_info=True)
    return response


def api_user():
    """The authenticated user of this API request, or raise 401."""
    user = g.get("api_user")
    if user is None:
        raise ApiError(_l("Please log in or send a valid token."), code="unauthorized",
                       status=401)
    return user


def auth_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        api_user()
        return view(*args, **kwargs)

    return wrapper


def json_body(max_keys: int = 100) -> dict:
    """The request's JSON object, or a 400 with a clear code."""
    if not request.is_json:
        raise ApiError(_l("Send JSON with Content-Type: application/json."),
                       code="unsupported_media_type", status=415)
    limit = request.max_content_length
    if (request.content_length is None and limit is not None
            and len(request.get_data(cache=True)) >= limit):
        # a chunked body has no length to refuse it by: read to the limit, it is cut there
        raise RequestEntityTooLarge()
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the decoder goes: a few KB of brackets
        data = None
    if not isinstance(data, dict):
        raise ApiError(_l("The body must be a JSON object."), code="malformed_json")
    if len(data) > max_keys:
        raise ApiError(_l("Too many fields."), code="malformed_json")
    if _holds_nul(data):
        raise NulCharacter()
    return data


def _holds_nul(value) -> bool:
    """Whether a NUL character is in any text of a JSON value, its keys included (walked
    without recursion: the nesting the decoder allowed must not overflow the stack here)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def page_args() -> tuple[int, int]:
    """?page=1&per_page=50 (max 200), or a 400."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError:
        raise ApiError(_l("page and per_page must be whole numbers."),
                       code="bad_pagination") from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE or page > 1_000_000:
        raise ApiError(_l("page must be at least 1 and per_page between 1 and 200."),
                       code="bad_pagination")
    return page, per_page


def paginated(items: list, page: int, per_page: int, total: int):
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


# ---------------------------------------------------------------------------------------
# OpenAPI

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object",
                           "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}


def error_responses(*statuses: int) -> dict:
    texts = {400: "Malformed request", 401: "No or bad credentials", 403: "Not allowed",
             404: "Unknown", 409: "State conflict", 413: "Too large", 415: "Not JSON",
             422: "Invalid fields", 429: "Rate limited"}
    return {
        str(s): {"description": texts.get(s, "Error"),
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for s in statuses
    }


def paginated_schema(ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


PAGE_PARAMS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
]


def build_openapi(modules) -> dict:
    paths: dict = {}
    schemas: dict = {"Error": ERROR_SCHEMA}
    for module in modules:
        for path, item in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(item)
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tsudoi (つどい) API",
            "version": "1.0.0",
            "description": "Events, sign-ups, check-in and calendar feeds of community "
                           "gatherings. Times are ISO 8601 with offset; yen are integers. "
                           "Errors: {\"error\": {\"code\", \"message\", \"fields\"}}.",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
