"""Pages of the rsvp domain: the sign-up form's POST, the manage page behind the secret
link (ticket QR, changes, cancellation), the lost-link page, and the organizers' lists,
kitchen summary and CSV."""

from __future__ import annotations

import functools
import io
import math
import time

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError

from gathering.errors import Conflict, GatheringError, NotFound, ValidationFailed
from gathering.events import services as events
from gathering.extensions import csrf, db, limiter, locks_late
from gathering.fees import services as fees
from gathering.i18n import current_lang
from gathering.rsvp import allergens as data
from gathering.rsvp import forms, limits, services
from gathering.rsvp.mails import notify_promoted, send_registration_mail
from gathering.rsvp.models import RegistrationStatus
from gathering.security import csrf_failed
from gathering.timeutil import to_local, utcnow
from gathering.urls import external_url

bp = Blueprint("rsvp", __name__)


@bp.app_template_global()
def allergen_label(code: str) -> str:
    """An allergen or diet code in the page's language (templates and mail)."""
    return data.label(code, current_lang())


@bp.app_template_global()
def status_label(status: str) -> str:
    return str(RegistrationStatus(status).label)


def render_event_page(event, form, status: int = 200):
    """The event page with this sign-up form (errors and typed values kept)."""
    now = utcnow()
    return render_template(
        "events/detail.html", event=event, now=now,
        signup_state=events.signup_state(event, now),
        seats=events.seats_state(event, current_app.config["FEW_SEATS_LEFT"]),
        few=current_app.config["FEW_SEATS_LEFT"], signup_form=form), status


def ticket_url(reg) -> str:
    return external_url("checkin.ticket", token=reg.ticket_token)


# ---------------------------------------------------------------------------------------
# Signing up


@bp.get("/events/<int:event_id>/signup")
def signup_page(event_id: int):
    """The form's own URL, reloaded (a phone restoring a tab) or followed from a page that
    answered a sign-up (its language link): the form lives on the event page."""
    lang = request.args.get("lang")
    args = {"lang": lang} if lang in current_app.config["LANGUAGES"] else {}
    return redirect(url_for("events.detail", event_id=event_id, **args) + "#signup")


def _form_kept_when_limited(view):
    """Sign-ups over the rate limit get the form back as typed, with the message and
    Retry-After (429), as the form's other refusals do, rather than the bare 429 page.
    It wraps the limits, which raise RateLimitExceeded before the view runs, so nothing
    is stored. The API's sign-up keeps its JSON 429."""

    @functools.wraps(view)
    def wrapper(event_id: int):
        try:
            return view(event_id=event_id)
        except RateLimitExceeded:
            event = events.get_event(db.session, event_id)
            form = forms.build_signup_form(event, request.form)
            form.form_errors.append(ngettext(
                "Many sign-ups were sent from here or for this event just now, so yours is "
                "not sent yet. Please wait %(num)d minute and press “Sign up” again; what "
                "you entered is kept.",
                "Many sign-ups were sent from here or for this event just now, so yours is "
                "not sent yet. Please wait %(num)d minutes and press “Sign up” again; what "
                "you entered is kept.", _minutes_to_wait()))
            return render_event_page(event, form, 429)

    return wrapper


def _minutes_to_wait() -> int:
    """Whole minutes until the limit refusing this request frees up (Retry-After's)."""
    refusing = limiter.current_limit
    if refusing is None:
        return 1
    return max(1, math.ceil((refusing.reset_at - time.time()) / 60))


@bp.post("/events/<int:event_id>/signup")
@csrf.exempt  # checked below, where a failure can show the form again with what was typed
@_form_kept_when_limited
@limits.signup_per_ip
@limits.signup_per_event
@locks_late
def signup(event_id: int):
    event = events.get_event(db.session, event_id)
    form = forms.build_signup_form(event, request.form)
    if form.homepage.data:
        abort(400)  # the honeypot: people never see that field
    try:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
    except CSRFError:
        # Sent without its session (the phone's browser restarted, the page open for
        # days): the form again with a new token, nothing lost, rather than a bare 400.
        form.form_errors.append(_("This page was open for a long time. Please check what "
                                  "you entered and send it again."))
        return render_event_page(event, form, 400)
    if "add_person" in request.form:
        forms.add_person(form)
        return render_event_page(event, form)
    if "remove_person" in request.form:
        forms.remove_person(form, forms.row_index(request.form.get("remove_person", "")))
        return render_event_page(event, form)
    if not form.validate():  # the CSRF token; the rules are the service's
        return render_event_page(event, form, 400)
    payload = forms.to_payload(form)
    try:
        try:
            result = services.register(
                db.session, event, payload, now=utcnow(),
                idempotency_key=form.idempotency_key.data or None,
                max_party_size=current_app.config["MAX_PARTY_SIZE"], lang=current_lang())
        except Conflict as exc:
            if exc.code != "idempotency_key_reused":
                raise
            # The page was sent before for someone else (the back button): a new sign-up.
            db.session.rollback()
            result = services.register(
                db.session, event, payload, now=utcnow(),
                max_party_size=current_app.config["MAX_PARTY_SIZE"], lang=current_lang())
    except ValidationFailed as exc:
        db.session.rollback()
        forms.apply_errors(form, exc.fields)
        if exc.code != "invalid" and not exc.fields:
            # a refusal said next to its fields (party_too_large: by the people) is not
            # repeated at the top, where the summary points down to it
            form.form_errors.insert(0, str(exc.message))
        return render_event_page(event, form, 422)
    except Conflict as exc:
        db.session.rollback()
        conflict = _duplicate_conflict(exc)
        if conflict is None:
            flash(str(exc.message), "error")
            return redirect(url_for("events.detail", event_id=event.id) + "#signup")
        form.conflict = conflict  # the form again, as typed; nothing was stored
        return render_event_page(event, form, 409)
    db.session.commit()
    reg = result.registration
    if not result.replayed:  # a double tap: the first request's message is on its way
        send_registration_mail(reg, result.manage_token, seats_left=result.seats_left)
        people = reg.party_size
        if reg.status == RegistrationStatus.confirmed:
            flash(ngettext("Thank you. You are signed up: %(num)d person.",
                           "Thank you. You are signed up: %(num)d people.", people), "success")
        else:
            flash(_waitlisted_message(people, result.seats_left, bool(reg.email)), "warning")
    return redirect(url_for("rsvp.manage", token=result.manage_token))


def _waitlisted_message(people: int, seats_left: int | None, mailed: bool = True) -> str:
    """Why the party waits: the event is full, or the seats left are too few for all of it
    (a family is never split); ``seats_left`` as the sign-up found it. ``mailed``: the
    party gave an e-mail address. Without one nobody writes when it moves up, so it is
    not promised: the party is asked to look at its page instead."""
    if not mailed:
        if seats_left:
            return ngettext(
                "Only %(num)d seat is left, not enough for your party of %(people)d, so you "
                "are on the waiting list. If seats become free for all of you, you move up "
                "automatically. You gave no e-mail address, so we cannot tell you: please "
                "check this page.",
                "Only %(num)d seats are left, not enough for your party of %(people)d, so "
                "you are on the waiting list. If seats become free for all of you, you move "
                "up automatically. You gave no e-mail address, so we cannot tell you: "
                "please check this page.", seats_left, people=people)
        return ngettext(
            "The event is full, so your party of %(num)d person is on the waiting list. If "
            "seats become free, you move up automatically. You gave no e-mail address, so "
            "we cannot tell you: please check this page.",
            "The event is full, so your party of %(num)d people is on the waiting list. If "
            "seats become free, you move up automatically. You gave no e-mail address, so "
            "we cannot tell you: please check this page.", people)
    if seats_left:
        return ngettext("Only %(num)d seat is left, not enough for your party of %(people)d, "
                        "so you are on the waiting list. We will tell you if seats become "
                        "free for all of you.",
                        "Only %(num)d seats are left, not enough for your party of "
                        "%(people)d, so you are on the waiting list. We will tell you if "
                        "seats become free for all of you.", seats_left, people=people)
    return ngettext("The event is full, so your party of %(num)d person is on the "
                    "waiting list. We will tell you if seats become free.",
                    "The event is full, so your party of %(num)d people is on the "
                    "waiting list. We will tell you if seats become free.", people)


def _duplicate_conflict(exc: Conflict) -> dict | None:
    """What the form says above itself when the party had signed up already: the message
    and where to go. ``already_registered`` (another page, the same name and contact) gets
    the lost-link page, never the sign-up itself; ``already_sent`` (this very page, sent
    before and changed since) gets the sign-up's own page, where 変更 is. Below the hint
    for families without e-mail, the form shows the group's contact."""
    if exc.code == "already_registered":
        return {"message": str(exc.message), "url": url_for("rsvp.lost_link"),
                "link": _("Send me the link again"),
                "hint": _("If you signed up without an e-mail address, please contact the "
                          "organizers.")}
    if exc.code == "already_sent":
        token = exc.details.get("manage_token")
        return {"message": str(exc.message),
                "url": url_for("rsvp.manage", token=token) if token else None,
                "link": _("Open your sign-up"), "hint": None}
    return None


# ---------------------------------------------------------------------------------------
# The manage page behind the secret link


def _load(token: str):
    return services.get_registration_by_manage_token(db.session, token)


@bp.get("/r/<token>")
def manage(token: str):
    """The manage page. Nothing is offered that the event's state refuses: once it is
    called off there is nothing to change, cancel or pay (only money already paid, with
    its receipts), and after the sign-up deadline the page says so instead of hiding the
    change button without a word."""
    reg = _load(token)
    event = reg.event
    now = utcnow()
    state = events.signup_state(event, now)
    active = reg.status != RegistrationStatus.cancelled and not event.is_cancelled
    money = fees.totals(db.session, reg)
    due, expected = fees.amount_due(reg), services.amount_expected(reg)
    return render_template(
        "rsvp/manage.html", reg=reg, event=event, token=token,
        amount_due=due, balance=fees.balance_of(due, money), expected=expected,
        # before anyone came (the fee is for who comes): the balance once everyone has
        balance_if_all_come=fees.balance_of(expected, money),
        paid=money.paid, received=money.received,
        # the receipt box says whether one was issued (asked only once money came in)
        latest_receipt=fees.latest_receipt(db.session, reg) if money.received > 0 else None,
        ticket_url=ticket_url(reg),
        can_edit=active and state == "open",
        changes_until=events.signup_closes(event) if active and state == "open" else None,
        changes_closed=active and state == "closed",
        can_cancel=_can_cancel(reg, now),
        # seats lowered below the party after it joined the waiting list: it never moves up
        too_large_to_move_up=(reg.status == RegistrationStatus.waitlisted
                              and not events.fits_in_all(event, reg.party_size)),
        cancel_form=forms.CancelForm())


def _can_cancel(reg, now) -> bool:
    return (reg.status != RegistrationStatus.cancelled and not reg.event.is_cancelled
            and reg.event.ends_at > now
            and not any(a.checked_in_at for a in reg.active_attendees))


def _qr(token: str):
    reg = _load(token)
    if reg.status == RegistrationStatus.cancelled:
        abort(404)
    return segno.make(ticket_url(reg), error="m")


@bp.get("/r/<token>/qr.png")
def qr_png(token: str):
    buffer = io.BytesIO()
    _qr(token).save(buffer, kind="png", scale=8, border=4)
    return Response(buffer.getvalue(), mimetype="image/png")


@bp.get("/r/<token>/qr.svg")
def qr_svg(token: str):
    buffer = io.BytesIO()
    _qr(token).save(buffer, kind="svg", scale=6, border=4, xmldecl=False,
                    title=_("Ticket QR code"))
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.route("/r/<token>/edit", methods=["GET", "POST"])
@csrf.exempt  # checked below, where a failure can show the form again with what was typed
def edit(token: str):
    reg = _load(token)
    event = reg.event
    if event.is_cancelled:
        flash(_("This event is cancelled, so the sign-up cannot be changed. Please do not "
                "come; you do not need to do anything else."), "warning")
        return redirect(url_for("rsvp.manage", token=token))
    signup_open = events.is_signup_open(event, utcnow())
    if reg.status == RegistrationStatus.cancelled:
        # the reason is the cancellation, not the sign-up period
        flash(_("This sign-up is cancelled, so it cannot be changed. To come after all, "
                "please sign up again on the event page.") if signup_open else
              _("This sign-up is cancelled, so it cannot be changed."), "warning")
        return redirect(url_for("rsvp.manage", token=token))
    if not signup_open:
        flash(_("Changes are possible only while sign-up is open. Please contact the "
                "organizers."), "warning")
        return redirect(url_for("rsvp.manage", token=token))
    if request.method == "GET":
        form = forms.build_signup_form(event, registration=reg)
        return _render_edit(reg, form, token)
    form = forms.build_signup_form(event, request.form, registration=reg)
    if csrf_failed():
        # nothing is saved: the form again as typed, with a fresh token to send it with
        form.form_errors.append(_("This page was open for a long time, so your changes are "
                                  "not saved yet. Please check them and press “Save "
                                  "changes” again."))
        return _render_edit(reg, form, token, 400)
    if "add_person" in request.form:
        forms.add_person(form)
        return _render_edit(reg, form, token)
    if "remove_person" in request.form:
        forms.remove_person(form, forms.row_index(request.form.get("remove_person", "")))
        return _render_edit(reg, form, token)
    if not form.validate():
        return _render_edit(reg, form, token, 400)
    try:
        change = services.update_registration(
            db.session, reg, forms.to_payload(form), now=utcnow(),
            max_party_size=current_app.config["MAX_PARTY_SIZE"])
    except ValidationFailed as exc:
        db.session.rollback()
        forms.apply_errors(form, exc.fields)
        return _render_edit(reg, form, token, 422)
    except Conflict as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        return _render_edit(reg, form, token, 409)
    db.session.commit()
    # moved up by its own change, the promotion mail says it; saved as it was, nothing to say
    if change.changed and reg not in change.promoted:
        send_registration_mail(reg, token, "changed")
    notify_promoted(change.promoted)
    flash(_("Your changes are saved."), "success")
    return redirect(url_for("rsvp.manage", token=token))


def _render_edit(reg, form, token, status: int = 200):
    return render_template("rsvp/edit.html", reg=reg, event=reg.event, form=form,
                           token=token), status


@bp.post("/r/<token>/cancel")
@csrf.exempt  # checked below, where a failure can ask again instead of a bare 400
def cancel(token: str):
    reg = _load(token)
    if reg.event.is_cancelled:
        flash(_("This event is cancelled, so there is nothing to cancel. You do not need to "
                "do anything."), "warning")
        return redirect(url_for("rsvp.manage", token=token))
    form = forms.CancelForm()
    ids = form.attendee_ids.data or []
    whole = request.form.get("whole") == "1"
    if csrf_failed():
        # nothing is cancelled: the same choice again, with a fresh token, to confirm
        return render_template(
            "rsvp/cancel.html", reg=reg, event=reg.event, token=token, whole=whole,
            chosen=set(ids), can_cancel=_can_cancel(reg, utcnow())), 400
    if not form.validate():
        abort(400)
    if not whole and not ids:  # "cancel the people checked" with nobody checked
        flash(_("Choose who cannot come."), "error")
        return redirect(url_for("rsvp.manage", token=token))
    try:
        change = services.cancel_registration(db.session, reg, now=utcnow(),
                                              attendee_ids=None if whole else ids)
    except GatheringError as exc:
        db.session.rollback()
        if exc.code == "already_cancelled":  # sent twice: what was asked is done, no error
            flash(str(exc.message), "success")
        else:
            flash(str(exc.message) if exc.code != "invalid" else
                  _("Choose who cannot come."), "error")
        return redirect(url_for("rsvp.manage", token=token))
    db.session.commit()
    if reg.status == RegistrationStatus.cancelled:
        send_registration_mail(reg, token, "cancelled")
        flash(_("Your sign-up is cancelled. Thank you for letting us know."), "success")
    else:
        send_registration_mail(reg, token, "changed")  # who is still coming, in writing
        flash(_("Thank you. The people you chose are cancelled."), "success")
    notify_promoted(change.promoted)
    return redirect(url_for("rsvp.manage", token=token))


def _event_asked_from():
    """The published event whose page sent the family to the lost-link page (``?event=``),
    so that page can show its group's contact; None without one, or for an id that is no
    public event (a draft, a typo): the page then reads as it does without."""
    event_id = request.args.get("event", "")
    if not (event_id.isascii() and event_id.isdigit()) or not 0 < int(event_id) < 2**31:
        return None
    try:
        return events.get_event(db.session, int(event_id))
    except NotFound:
        return None


@bp.route("/r/lost", methods=["GET", "POST"])
@csrf.exempt  # checked below, where a failure can ask again instead of a bare 400
@limits.lost_link_per_ip
def lost_link():
    form = forms.LostLinkForm()
    event = _event_asked_from()
    if request.method == "POST" and csrf_failed():
        # the page was open for long (its session is gone): the address kept, asked again
        return render_template("rsvp/lost.html", form=form, event=event,
                               session_lost=True), 400
    if form.validate_on_submit():
        try:
            found = services.find_for_lost_link(db.session, form.email.data or "",
                                                now=utcnow())
        except ValidationFailed as exc:  # empty, too long or not an address: say so
            form.email.errors = [str(m) for m in exc.fields.get("email", [exc.message])]
            return render_template("rsvp/lost.html", form=form, event=event), 422
        tokens = [(reg, services.reissue_manage_token(reg)) for reg in found]
        db.session.commit()
        for reg, token in tokens:
            send_registration_mail(reg, token, "lost_link")
        # The same answer whether or not the address is known: nothing is revealed.
        flash(_("If we have a sign-up for an upcoming event under this address, we have "
                "sent its link there. Please check your mail."), "success")
        return redirect(url_for("rsvp.lost_link", event=event.id if event else None))
    return render_template("rsvp/lost.html", form=form, event=event)


# ---------------------------------------------------------------------------------------
# Organizers


@bp.get("/organizer/events/<int:event_id>/registrations")
@login_required
def registrations(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    q = request.args.get("q", "")[:100]
    status = request.args.get("status") or None
    if status not in (None, *RegistrationStatus):
        abort(400)
    every = services.list_registrations(db.session, event)
    shown = services.list_registrations(db.session, event, q=q, status=status) \
        if (q or status) else every
    return render_template("rsvp/registrations.html", event=event, regs=shown,
                           counts=services.counts(every), q=q, status=status or "",
                           waiting=[r for r in every if r.status == "waitlisted"],
                           due={r.id: fees.amount_due(r) for r in shown}, now=utcnow())


@bp.post("/organizer/events/<int:event_id>/registrations/<int:registration_id>/cancel")
@login_required
def organizer_cancel(event_id: int, registration_id: int):
    """An organizer cancels a party that phoned to say it cannot come."""
    event = events.get_event_for_user(db.session, event_id, current_user)
    reg = services.get_registration_for_user(db.session, registration_id, current_user)
    if reg.event_id != event.id:
        abort(404)
    if not forms.CancelForm().validate():
        abort(400)
    was_waiting = reg.status == RegistrationStatus.waitlisted
    try:
        change = services.cancel_registration(db.session, reg, now=utcnow())
    except GatheringError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        if was_waiting:  # it held no seats: there are none to give on
            flash(_("The sign-up of %(name)s, on the waiting list, is cancelled. It held no "
                    "seats.", name=reg.name_in(current_lang())), "success")
        else:
            flash(_("The sign-up of %(name)s is cancelled.", name=reg.name_in(current_lang())),
                  "success")
        if change.promoted:
            flash(ngettext("%(num)d waiting party moved up.", "%(num)d waiting parties moved up.",
                           len(change.promoted)), "success")
        notify_promoted(change.promoted)
    return redirect(url_for("rsvp.registrations", event_id=event.id))


@bp.get("/organizer/events/<int:event_id>/kitchen")
@login_required
def kitchen(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    regs = services.list_registrations(db.session, event)
    return render_template("rsvp/kitchen.html", event=event,
                           summary=services.kitchen_summary(regs),
                           counts=services.counts(regs), now=utcnow())


@bp.get("/organizer/events/<int:event_id>/registrations.csv")
@login_required
def registrations_csv(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    regs = services.list_registrations(db.session, event)
    headers = [_("No."), _("Status"), _("Family name"), _("Given name"), _("Family name kana"),
               _("Given name kana"), _("Phone"), _("E-mail"), _("Person"), _("Category"),
               _("Fee"), _("Name"), _("Allergies"), _("Diet"), _("Note"), _("Checked in"),
               _("Signed up"), _("Message")]
    text = services.registrations_csv(regs, lang=current_lang(), headers=headers)
    # the day in Tokyo: a morning event (stored in UTC) is on the day before in UTC
    filename = f"registrations-{event.id}-{to_local(event.starts_at):%Y%m%d}.csv"
    return Response(text.encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
