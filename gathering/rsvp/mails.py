"""The mails of the rsvp domain: confirmation, waiting list, promotion, lost link and
cancellation, and the event-cancelled notice. Each is sent after the commit that made it
true, in the language the party signed up in. Views and APIs of every domain call these."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from gathering import mail
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.i18n import speaking
from gathering.rsvp import services
from gathering.rsvp.models import RegistrationStatus


def send_registration_mail(reg, token: str, template: str = "registered") -> bool:
    """The confirmation (or waiting-list / promotion) mail, when an e-mail was given."""
    if not reg.email:
        return False
    event = reg.event
    subjects = {
        "registered": (_("Signed up: %(title)s", title=event.title)
                       if reg.status == RegistrationStatus.confirmed else
                       _("On the waiting list: %(title)s", title=event.title)),
        "promoted": _("A seat is free for you: %(title)s", title=event.title),
        "lost_link": _("Your sign-up link: %(title)s", title=event.title),
        "cancelled": _("Cancelled: %(title)s", title=event.title),
    }
    return mail.send_mail(
        reg.email, subjects[template], template, reg=reg, event=event,
        manage_url=url_for("rsvp.manage", token=token, _external=True),
        event_url=url_for("events.detail", event_id=event.id, _external=True),
        amount_due=fees.amount_due(reg))


def notify_event_cancelled(event) -> tuple[int, int]:
    """Tell each party still signed up or waiting that the event is called off (after the
    commit that cancelled it), by mail in the language it signed up in. Returns (mailed,
    without an address): the organizer phones the others."""
    mailed = unreachable = 0
    for reg in services.list_registrations(db.session, event):
        if reg.status == RegistrationStatus.cancelled:
            continue
        if not reg.email:
            unreachable += 1
            continue
        with speaking(reg.lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
            sent = mail.send_mail(
                reg.email, _("Called off: %(title)s", title=event.title), "event_cancelled",
                reg=reg, event=event,
                event_url=url_for("events.detail", event_id=event.id, _external=True))
        mailed += sent
        unreachable += not sent
    return mailed, unreachable


def notify_promoted(promoted) -> None:
    """Mail each party the waiting list just confirmed (after the commit that did it), in
    the language they signed up in."""
    for reg in promoted:
        token = services.manage_token_for(reg)
        if token is None:
            token = services.reissue_manage_token(reg)
            db.session.commit()
        with speaking(reg.lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
            send_registration_mail(reg, token, "promoted")
