"""The mails of the rsvp domain: confirmation, waiting list, promotion, lost link, change
and cancellation, and the event-cancelled notice. Each is sent after the commit that made it
true, in the language the party signed up in. Views and APIs of every domain call these."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from gathering import mail
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.i18n import speaking
from gathering.rsvp import services
from gathering.rsvp.models import RegistrationStatus
from gathering.urls import external_url


def party_lang(reg) -> str:
    """The language a party signed up in ("ja", "en"): its mails and the links in them speak
    it, whatever the language of the page that caused the mail (a cancellation from a
    phone set to Japanese still writes to an English-speaking family in English)."""
    lang = reg.lang or ""
    return lang if lang in current_app.config["LANGUAGES"] else (
        current_app.config["BABEL_DEFAULT_LOCALE"])


def page_url(endpoint: str, lang: str, **values) -> str:
    """An absolute link to one of our pages for a mail, opening in ``lang`` (``?lang=``
    wins over the reader's browser, and the page keeps it in a cookie)."""
    return external_url(endpoint, lang=lang, **values)


def send_registration_mail(reg, token: str, template: str = "registered", **context) -> bool:
    """The confirmation (or waiting-list, promotion, lost-link, new-ticket, change or
    cancellation) mail, when an e-mail was given, in the party's language (``party_lang``); ``context``
    goes to the template as it is."""
    if not reg.email:
        return False
    event = reg.event
    lang = party_lang(reg)
    with speaking(lang):
        subjects = {
            "registered": (_("Signed up: %(title)s", title=event.title)
                           if reg.status == RegistrationStatus.confirmed else
                           _("On the waiting list: %(title)s", title=event.title)),
            "promoted": _("A seat is free for you: %(title)s", title=event.title),
            "lost_link": _("Your sign-up link: %(title)s", title=event.title),
            "cancelled": _("Cancelled: %(title)s", title=event.title),
            "new_ticket": _("Your new ticket: %(title)s", title=event.title),
            "changed": _("Sign-up changed: %(title)s", title=event.title),
        }
        return mail.send_mail(
            reg.email, subjects[template], template, reg=reg, event=event,
            manage_url=page_url("rsvp.manage", lang, token=token),
            event_url=page_url("events.detail", lang, event_id=event.id),
            amount_due=fees.amount_due(reg),
            # what the door will ask if everyone comes: the fee before anyone came
            expected=services.amount_expected(reg), **context)


def _tell_each_party(event, send) -> tuple[int, int]:
    """``send(reg, lang)`` for each party still signed up or waiting, in the language it
    signed up in. Returns (mailed, to phone): parties with no address or whose mail failed;
    a walk-in party with no address is not counted (it came to the door, and the door asked
    for no number to call)."""
    mailed = unreachable = 0
    for reg in services.list_registrations(db.session, event):
        if reg.status == RegistrationStatus.cancelled:
            continue
        if not reg.email:
            unreachable += not reg.is_walk_in
            continue
        lang = party_lang(reg)
        with speaking(lang):
            sent = send(reg, lang)
        mailed += sent
        unreachable += not sent
    return mailed, unreachable


def notify_event_cancelled(event) -> tuple[int, int]:
    """Tell each party still signed up or waiting that the event is called off (after the
    commit that cancelled it). Returns (mailed, to phone), see ``_tell_each_party``."""
    return _tell_each_party(event, lambda reg, lang: mail.send_mail(
        reg.email, _("Called off: %(title)s", title=event.title), "event_cancelled",
        reg=reg, event=event, event_url=page_url("events.detail", lang, event_id=event.id)))


def notify_promoted(promoted, moved_from=None) -> set[int]:
    """Mail each party the waiting list just confirmed (after the commit that did it), in
    the language they signed up in. ``moved_from`` maps the id of each event the same edit
    moved to its old (start, end): the promotion mail says the date changed too, so those
    parties get one mail, not two (pass the ids returned to ``notify_event_moved``).
    Returns the ids of the parties mailed."""
    moved_from = moved_from or {}
    mailed = set()
    for reg in promoted:
        token = services.manage_token_for(reg)
        if token is None:
            token = services.reissue_manage_token(reg)
            db.session.commit()
        old_starts_at, old_ends_at = moved_from.get(reg.event_id, (None, None))
        if send_registration_mail(reg, token, "promoted", old_starts_at=old_starts_at,
                                  old_ends_at=old_ends_at):
            mailed.add(reg.id)
    return mailed


def notify_event_moved(event, old_starts_at, old_ends_at=None,
                       told=frozenset()) -> tuple[int, int]:
    """Tell each party still signed up or waiting that the event moved to a new date or
    time (after the commit that moved it), with the old and the new time. The parties in
    ``told`` (ids) already read it in their promotion mail, and count as mailed. Returns
    (mailed, to phone), see ``_tell_each_party``."""
    if old_ends_at is None:
        old_ends_at = old_starts_at + (event.ends_at - event.starts_at)

    def send(reg, lang):
        if reg.id in told:
            return True
        token = services.manage_token_for(reg)
        return mail.send_mail(
            reg.email, _("New date: %(title)s", title=event.title), "event_moved",
            reg=reg, event=event, old_starts_at=old_starts_at, old_ends_at=old_ends_at,
            manage_url=page_url("rsvp.manage", lang, token=token) if token else None,
            event_url=page_url("events.detail", lang, event_id=event.id))

    return _tell_each_party(event, send)
