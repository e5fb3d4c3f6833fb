"""Door pages: the ticket screen a QR code opens, the continuous scanner, search, walk-ins and
the printed door list (受付名簿). Rules live in ``services``; these only parse, call, commit."""

from __future__ import annotations

import re

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from gathering.checkin import services
from gathering.errors import GatheringError, NotFound, ValidationFailed
from gathering.events.services import get_event, get_event_for_user, list_branch_events
from gathering.extensions import db, limiter, locks_late
from gathering.fees import services as fees
from gathering.formatting import format_phone, format_yen
from gathering.i18n import current_lang
from gathering.japanese import NAME_VARIANTS, normalize_text
from gathering.rsvp import services as rsvp
from gathering.rsvp.forms import CancelForm
from gathering.rsvp.mails import page_url, party_lang, send_registration_mail
from gathering.rsvp.models import Registration, RegistrationStatus
from gathering.security import new_token
from gathering.timeutil import utcnow
from gathering.urls import external_url

bp = Blueprint("checkin", __name__)


def _checkin_limit() -> str:
    return current_app.config["RATELIMIT_CHECKIN"]


@bp.app_template_global()
def alert_label(code: str) -> str:
    """The allergen or diet label in the reader's language (the code if unknown)."""
    try:
        from gathering.rsvp.allergens import label
    except ImportError:  # pragma: no cover - the sign-up domain provides it
        return code
    return label(code, current_lang()) or code


@bp.app_template_filter("door_status")
def door_status(status: str) -> str:
    """A registration status in words (confirmed, waiting list, cancelled)."""
    from gathering.rsvp.models import RegistrationStatus

    return str(RegistrationStatus(status).label)


def _allergen_choices() -> list:
    try:
        from gathering.rsvp.allergens import ALLERGENS
    except ImportError:  # pragma: no cover
        return []
    lang = current_lang()
    return [(a.code, a.label(lang), a.mandatory) for a in ALLERGENS]


def _staff_user():
    return current_user if current_user.is_authenticated else None


def _require_door(event_id: int):
    if not current_user.is_authenticated:
        return None
    return services.get_event_for_door(db.session, event_id, current_user)


def _login_redirect():
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _number(raw: str, max_digits: int) -> int | None:
    """A whole number typed or sent in a form (full-width digits too), or None.

    ``str.isdigit`` is no test for ``int``: ``²`` or ``①`` are digits to it, and ``int``
    refuses some of them (a 500). NFKC first (² reads as 2, ４ as 4, as everywhere), then
    only ASCII digits count: ፩ or ⑴ are no number."""
    text = normalize_text(raw or "")
    if not re.fullmatch(f"[0-9]{{1,{max_digits}}}", text):
        return None
    return int(text)


def _door_event_id() -> int | None:
    return _number(request.values.get("event", ""), 9)


# ---------------------------------------------------------------------------------------
# The ticket screen (/c/<token>): what a phone camera opens


@bp.get("/c/<token>")
def ticket(token: str):
    """Staff of the event's branch see the party; anyone else only "show this at the door"."""
    user = _staff_user()
    try:
        reg = services.get_registration_by_ticket(db.session, token)
    except NotFound:
        reg = None
    except services.CheckinRefused as refused:  # replaced by a new ticket
        if user is None:
            return render_template("checkin/invalid_ticket.html"), 404
        return _replaced_ticket(user, token, refused)
    if user is None or reg is None or not user.can_staff_branch(reg.event.branch_id):
        if user is not None and reg is None:
            return render_template("checkin/unknown.html"), 404
        if reg is None:  # mistyped or cut short: no ticket to show, but how to find it
            return render_template("checkin/invalid_ticket.html"), 404
        # the resident's own phone: the code to show (this page's address), while it admits
        valid = (reg is not None and reg.status == RegistrationStatus.confirmed
                 and reg.ticket_revoked_at is None and not reg.event.is_cancelled)
        qr = segno.make(external_url("checkin.ticket", token=token),
                        error="m").png_data_uri(scale=6, border=4) if valid else None
        return render_template("checkin/show_at_door.html", event=reg.event if reg else None,
                               reg=reg, qr=qr, logged_in=user is not None)
    door_event_id = _door_event_id() or reg.event_id
    door_event = reg.event
    refusal = None
    if door_event_id != reg.event_id:
        door_event = get_event(db.session, door_event_id, include_drafts=True)
        if not user.can_staff_branch(door_event.branch_id):
            door_event = reg.event
    try:
        services._validate_party(reg, door_event)
    except GatheringError as exc:
        refusal = exc
    return render_template(
        "checkin/party.html", reg=reg, event=reg.event, door_event=door_event, refusal=refusal,
        history=services.history(db.session, reg),
        conflicts=services.conflicts_of(db.session, reg),
        due=fees.amount_due(reg), paid=fees.paid(db.session, reg),
        balance=fees.balance(db.session, reg), nonce=new_token(12), token=token,
        alerts=services.alerts_of(reg))


def _replaced_ticket(user, token: str, refused: services.CheckinRefused):
    """The door's refusal of a replaced ticket: to staff of the party's group, whose party
    it was and the way to its current ticket; and the way back to the door's scanner."""
    reg = services.get_registration_by_replaced_ticket(db.session, token)
    if reg is not None and not user.can_staff_branch(reg.event.branch_id):
        reg = None
    door_event = reg.event if reg is not None else None
    door_event_id = _door_event_id()
    if door_event_id is not None and (door_event is None or door_event_id != door_event.id):
        try:
            other = get_event(db.session, door_event_id, include_drafts=True)
        except NotFound:
            other = None
        if other is not None and user.can_staff_branch(other.branch_id):
            door_event = other
    return render_template("checkin/replaced_ticket.html", reg=reg, door_event=door_event,
                           refusal=refused), refused.status


def _party_action(token: str, work):
    user = _staff_user()
    if user is None:
        return _login_redirect()
    reg = services.get_registration_by_ticket(db.session, token)
    event_id = _door_event_id() or reg.event_id
    event = services.get_event_for_door(db.session, event_id, user)
    back = redirect(url_for("checkin.ticket", token=token, event=event.id))
    try:
        message = work(user, event, reg)
    except GatheringError as exc:
        db.session.rollback()
        flash(str(exc.message) if not exc.fields else " ".join(
            str(m) for msgs in exc.fields.values() for m in msgs), "error")
        return back
    db.session.commit()
    if message:
        flash(message, "success")
    return back


def _chosen_ids() -> list[int] | None:
    raw = request.form.getlist("attendee")
    if not raw:
        return []
    return [n for n in (_number(v, 9) for v in raw) if n is not None]


@bp.post("/c/<token>/admit")
@limiter.limit(_checkin_limit)
@locks_late
def admit(token: str):
    def work(user, event, reg):
        ids = None if "all" in request.form else _chosen_ids()
        result = services.check_in(db.session, event, token, user=user, attendee_ids=ids,
                                   nonce=request.form.get("nonce", "")[:120],
                                   device=request.headers.get("User-Agent", ""))
        n = len(result["admitted"])
        return _("%(n)d admitted.", n=n) if n else None

    return _party_action(token, work)


@bp.post("/c/<token>/undo")
@limiter.limit(_checkin_limit)
def undo(token: str):
    def work(user, event, reg):
        # nobody ticked is refused as for an admission (None would mean the whole party)
        result = services.undo_check_in(db.session, event, token, user=user,
                                        attendee_ids=_chosen_ids(),
                                        nonce=request.form.get("nonce", "")[:120],
                                        device=request.headers.get("User-Agent", ""))
        return _("Undone for %(n)d.", n=len(result["undone"]))

    return _party_action(token, work)


def _tendered() -> int:
    """The yen typed or tapped, or -1 (refused as not an amount). A page sending two
    different amounts (a note button and the typed field of an older page) is refused
    rather than guessed at: either guess may record the wrong cash."""
    amounts = set()
    for raw in request.form.getlist("tendered"):
        if not raw.strip():
            continue
        try:  # as every amount people type: １，０００, 1,000円, ¥1000
            amounts.add(fees.parse_yen(raw, field_name="tendered", allow_zero=True))
        except ValidationFailed:
            return -1
    return amounts.pop() if len(amounts) == 1 else -1


@bp.post("/c/<token>/cash")
@limiter.limit(_checkin_limit)
def cash(token: str):
    def work(user, event, reg):
        services.check_event_of(reg, event)  # the page offers no cash for another date
        tendered = _tendered()
        payment, change = services.take_cash(
            db.session, reg, tendered, user=user,
            nonce="door:" + request.form.get("nonce", "")[:100] if request.form.get("nonce")
            else None)
        lang = current_lang()
        if payment is None:
            return _("Nothing is owed. Give back %(change)s.", change=format_yen(change, lang))
        return _("Received %(amount)s. Change: %(change)s.",
                 amount=format_yen(payment.amount, lang), change=format_yen(change, lang))

    return _party_action(token, work)


# ---------------------------------------------------------------------------------------
# The door of one event: search, scanner, walk-ins, printed list


@bp.get("/door/")
def index():
    """The events a volunteer can staff, soonest first: one tap to the scanner."""
    if not current_user.is_authenticated:
        return _login_redirect()
    upcoming = [e for e in list_branch_events(db.session, current_user, now=utcnow())
                if current_user.can_staff_branch(e.branch_id) and e.status != "draft"]
    return render_template("checkin/index.html", events=upcoming)


@bp.get("/door/events/<int:event_id>")
def door(event_id: int):
    event = _require_door(event_id)
    if event is None:
        return _login_redirect()
    query = request.args.get("q", "")[:100]
    results = services.search(db.session, event, query) if query.strip() else []
    return render_template("checkin/door.html", event=event, query=query, results=results,
                           counts=services.live_counts(db.session, event, utcnow()),
                           searched=bool(query.strip()))


@bp.get("/door/events/<int:event_id>/scanner")
def scanner(event_id: int):
    event = _require_door(event_id)
    if event is None:
        return _login_redirect()
    return render_template("checkin/scanner.html", event=event,
                           counts=services.live_counts(db.session, event, utcnow()),
                           fee_labels={f.code: f.label for f in event.fees},
                           name_variants=NAME_VARIANTS)


@bp.get("/door/events/<int:event_id>/list")
def door_list(event_id: int):
    event = _require_door(event_id)
    if event is None:
        return _login_redirect()
    return render_template("checkin/door_list.html", event=event,
                           rows=services.door_list(db.session, event), printed_at=utcnow())


def _count(raw: str) -> int:
    """How many people of a walk-in's fee category, or -1 (refused as not a number)."""
    number = _number(raw, 3)
    return -1 if number is None else number


#: the person-by-person allergy rows the walk-in form shows at first (two children, one
#: with egg and one with peanut, need no extra tap); "＋" adds one without JavaScript
WALK_IN_ROWS = 2
_ROW_FIELDS = {"category": "for", "allergens": "allergens", "note": "note"}


def _allergy_rows(form) -> list[dict]:
    """The walk-in form's allergy rows as typed (``p<i>_for``, ``p<i>_allergens``,
    ``p<i>_note``), every row the page sent, in order."""
    last = -1
    for i in range(services.MAX_WALK_IN_PEOPLE):
        if any(f"p{i}_{name}" in form for name in _ROW_FIELDS.values()):
            last = i
    return [{"index": i, "category": form.get(f"p{i}_for", "")[:30],
             "allergens": form.getlist(f"p{i}_allergens")[:services.MAX_ALLERGENS],
             "note": form.get(f"p{i}_note", "")[:500]} for i in range(last + 1)]


#: the single allergy fields older door pages send (one person of the party), shown in the
#: first row when the page comes back with a message
_LEGACY_FIELDS = {"allergy_for": "p0_for", "allergens": "p0_allergens", "note": "p0_note"}


def _legacy_row(form) -> dict | None:
    """What an older page sent in the single allergy fields, as the first row, or None."""
    if not (form.getlist("allergens") or form.get("note", "").strip()):
        return None
    return {"index": 0, "category": form.get("allergy_for", "")[:30],
            "allergens": form.getlist("allergens")[:services.MAX_ALLERGENS],
            "note": form.get("note", "")[:500]}


def _row_errors(errors: dict, kept: list[int]) -> dict:
    """The service's ``people.<n>.<key>`` errors under the form row's fields (``p<i>_for``):
    only the rows with something in them were sent, ``kept`` says which. The single
    fields of an older page are shown in the first row, and so are their errors."""
    out = {}
    for key, messages in errors.items():
        if not kept and key in _LEGACY_FIELDS:
            key = _LEGACY_FIELDS[key]
        parts = key.split(".")
        if parts[0] == "people" and len(parts) > 1 and parts[1].isdigit() and \
                int(parts[1]) < len(kept):
            row = kept[int(parts[1])]
            key = f"p{row}_{_ROW_FIELDS.get(parts[2], parts[2])}" if len(parts) > 2 \
                else f"p{row}"
        out[key] = messages
    return out


@bp.route("/door/events/<int:event_id>/walk-in", methods=["GET", "POST"])
@limiter.limit(_checkin_limit, methods=["POST"])
def walk_in(event_id: int):
    event = _require_door(event_id)
    if event is None:
        return _login_redirect()
    errors: dict = {}
    status = 200
    form = request.form
    # a cancelled, draft or ended event: the page says so instead of offering the form
    closed = services.walk_ins_closed(event, utcnow()) if request.method == "GET" else None
    rows = _allergy_rows(form)
    kept = [row["index"] for row in rows if row["allergens"] or row["note"].strip()]
    adding = request.method == "POST" and "add_allergy_person" in form
    if request.method == "POST" and not adding:
        counts = {}
        for fee in event.fees:
            raw = form.get(f"count_{fee.code}", "").strip() or "0"
            counts[fee.code] = _count(raw)
        if not event.fees:
            raw = form.get("count_people", "").strip() or "0"
            counts[""] = _count(raw)
        data = services.WalkIn(counts=counts, family_name=form.get("family_name", "")[:200],
                               family_name_kana=form.get("family_name_kana", "")[:200],
                               phone=form.get("phone", "")[:40],
                               allergens=form.getlist("allergens")[:40],
                               note=form.get("note", "")[:500],
                               allergy_for=form.get("allergy_for", "")[:30],
                               people=[{key: rows[i][key] for key in _ROW_FIELDS}
                                       for i in kept] or None)
        try:
            reg = services.admit_walk_in(db.session, event, data, user=current_user,
                                         nonce=form.get("nonce", "")[:120],
                                         overbook=form.get("overbook") == "1",
                                         device=request.headers.get("User-Agent", ""))
        except GatheringError as exc:
            db.session.rollback()
            errors = {k: [str(m) for m in v] for k, v in
                      _row_errors(exc.fields, kept).items()}
            status = exc.status
            if not errors:
                closed = services.walk_ins_closed(event, utcnow())
                if closed is None:
                    flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(ngettext("Walk-in party admitted: %(num)d person.",
                           "Walk-in party admitted: %(num)d people.", reg.party_size), "success")
            return redirect(url_for("checkin.ticket", token=reg.ticket_token, event=event.id))
    if not rows and (legacy := _legacy_row(form)) is not None:
        rows = [legacy]
    shown = max(len(rows) + (1 if adding else 0), WALK_IN_ROWS)
    rows += [{"index": i, "category": "", "allergens": [], "note": ""}
             for i in range(len(rows), min(shown, services.MAX_WALK_IN_PEOPLE))]
    return render_template("checkin/walk_in.html", event=event, errors=errors, form=form,
                           allergens=_allergen_choices(), nonce=new_token(12), closed=closed,
                           rows=rows, max_rows=services.MAX_WALK_IN_PEOPLE,
                           allergies_open=adding or any(
                               r["allergens"] or r["note"].strip() for r in rows) or any(
                               k == "people" or k.startswith("p") and k[1:2].isdigit()
                               for k in errors),
                           focus_row=len(rows) - 1 if adding else None,
                           can_overbook=current_user.can_manage_branch(event.branch_id)), status


@bp.get("/door/sw.js")
def service_worker():
    """The scanner's service worker, served from /door/ so its scope covers the scanner."""
    response = send_from_directory(current_app.static_folder, "js/checkin-sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/door/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/organizer/events/<int:event_id>/registrations/<int:registration_id>/ticket")
def replace_ticket(event_id: int, registration_id: int):
    """An organizer gives a party a new ticket QR; the old one is refused at the door."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    event = get_event_for_user(db.session, event_id, current_user)
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.event_id != event.id:
        raise NotFound()
    if not CancelForm().validate():
        abort(400)
    try:
        services.replace_ticket(db.session, reg, user=current_user)
    except GatheringError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("%(name)s has a new ticket: the old QR code no longer works. Their manage "
                "page shows the new one.", name=reg.name_in(current_lang())), "success")
        _tell_new_ticket(reg)
    return redirect(url_for("rsvp.registrations", event_id=event.id))


def _tell_new_ticket(reg: Registration) -> None:
    """Mail the party its new ticket (after the commit), and tell the organizer whether it
    was mailed or the family must be phoned: their old QR code no longer works."""
    if reg.email:
        token = rsvp.manage_token_for(reg)
        if token is None:
            token = rsvp.reissue_manage_token(reg)
            db.session.commit()
        ticket_url = page_url("checkin.ticket", party_lang(reg), token=reg.ticket_token)
        if send_registration_mail(reg, token, "new_ticket", ticket_url=ticket_url):
            flash(_("The new ticket was mailed to %(email)s.", email=reg.email), "success")
            return
        message = (_("The mail to %(email)s could not be sent: please phone %(name)s "
                     "(%(phone)s). At the door, search their name.", email=reg.email,
                     name=reg.name_in(current_lang()), phone=format_phone(reg.phone)) if reg.phone else
                   _("The mail to %(email)s could not be sent. At the door, search their "
                     "name.", email=reg.email))
    elif reg.phone:
        message = _("%(name)s gave no e-mail address and was not told: please phone them "
                    "(%(phone)s). At the door, search their name.", name=reg.name_in(current_lang()),
                    phone=format_phone(reg.phone))
    else:
        message = _("%(name)s gave no e-mail address or phone number and was not told. At "
                    "the door, search their name.", name=reg.name_in(current_lang()))
    flash(message, "warning")
