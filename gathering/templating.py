"""Jinja filters and globals: dates, yen, lists, phone numbers and the language switch."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request, url_for
from jinja2 import pass_eval_context
from markupsafe import escape

from gathering import formatting
from gathering.i18n import current_lang
from gathering.japanese import format_postal_code
from gathering.markup import render_markdown
from gathering.urls import external_url


def init_app(app) -> None:
    env = app.jinja_env
    env.filters["when"] = lambda start, end=None: formatting.format_when(start, end, current_lang())
    env.filters["day"] = lambda value, short=False: formatting.format_day(
        value, current_lang(), short
    )
    env.filters["hhmm"] = formatting.format_time
    env.filters["yen"] = lambda amount: formatting.format_yen(amount, current_lang())
    env.filters["phone"] = formatting.format_phone
    env.filters["join_list"] = join_list
    env.globals["list_separator"] = lambda: formatting.list_separator(current_lang())
    env.globals["yen_pattern"] = lambda: formatting.YEN_PATTERNS[current_lang()]
    env.filters["postal"] = format_postal_code
    env.filters["markdown"] = render_markdown
    env.globals["lang_url"] = lang_url
    env.globals["page_url"] = page_url
    env.globals["current_lang"] = current_lang
    env.globals["external_url"] = external_url
    env.globals["error_attrs"] = error_attrs
    env.trim_blocks = True
    env.lstrip_blocks = True


def error_attrs(field) -> dict:
    """``{{ choice(**error_attrs(group)) }}``: an input of a group of choices (radio
    buttons, check boxes) named invalid by the group's error (``group_error`` in
    _macros/forms.html), so a screen reader reads the message on each of them."""
    if not field.errors:
        return {}
    return {"aria-describedby": f"{field.id}-error", "aria-invalid": "true"}


@pass_eval_context
def join_list(eval_ctx, items, label=None):
    """``{{ codes|join_list(alert_label) }}``: the items (each through ``label`` if given) as
    a list in running text in the page's language, 「、」 or ", " between them. Each item is
    escaped where the template escapes (HTML), as Jinja's own ``join`` does."""
    values = [label(item) for item in items] if label else list(items)
    sep = formatting.list_separator(current_lang())
    if eval_ctx.autoescape:
        return escape(sep).join(values)  # Markup: escapes each item that is not Markup
    return sep.join(str(value) for value in values)


def lang_url(lang: str) -> str:
    """This page in another language (works without JavaScript).

    The query string is encoded here, not handed to url_for: a query argument named like a
    path argument (``/events/1?event_id=2``) or like one of url_for's own (``_scheme``)
    must neither clash with the path nor change it.
    """
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    query.append(("lang", lang))
    path = request.path
    if request.endpoint and request.url_rule is not None:
        path = url_for(request.endpoint, **(request.view_args or {}))
    return f"{path}?{urlencode(query)}"


def page_url(page: int) -> str:
    """This listing at another page: the same path, the query kept but for its page (a
    query argument named like a path argument or like url_for's own changes nothing)."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    query.append(("page", str(page)))
    return f"{request.path}?{urlencode(query)}"
