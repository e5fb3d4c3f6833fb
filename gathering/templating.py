"""Jinja filters and globals: dates, yen, phone numbers and the language switch."""

from __future__ import annotations

from flask import request, url_for

from gathering import formatting
from gathering.i18n import current_lang
from gathering.japanese import format_postal_code
from gathering.markup import render_markdown


def init_app(app) -> None:
    env = app.jinja_env
    env.filters["when"] = lambda start, end=None: formatting.format_when(start, end, current_lang())
    env.filters["day"] = lambda value, short=False: formatting.format_day(
        value, current_lang(), short
    )
    env.filters["hhmm"] = formatting.format_time
    env.filters["yen"] = lambda amount: formatting.format_yen(amount, current_lang())
    env.filters["phone"] = formatting.format_phone
    env.filters["postal"] = format_postal_code
    env.filters["markdown"] = render_markdown
    env.globals["lang_url"] = lang_url
    env.globals["current_lang"] = current_lang
    env.trim_blocks = True
    env.lstrip_blocks = True


def lang_url(lang: str) -> str:
    """This page in another language (works without JavaScript)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    if request.endpoint and request.url_rule is not None:
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    return f"{request.path}?lang={lang}"
