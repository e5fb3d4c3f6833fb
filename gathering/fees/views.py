"""Pages of the fees domain: the money view of an event and of a month, CSV exports,
receipts (領収書) for staff and for residents from their manage link."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from babel.dates import format_date
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
from flask_login import current_user, login_required
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from gathering.accounts.models import Branch
from gathering.errors import GatheringError, ValidationFailed
from gathering.events import services as events
from gathering.extensions import csrf, db, limiter
from gathering.fees import services
from gathering.fees.forms import ENTRY_KINDS, CashCountForm, LedgerEntryForm, ReceiptForm
from gathering.fees.models import PaymentMethod, Receipt
from gathering.formatting import format_yen
from gathering.i18n import current_lang
from gathering.rsvp.models import Registration
from gathering.rsvp.services import get_registration_by_manage_token
from gathering.security import csrf_failed, new_token
from gathering.timeutil import to_local, utcnow

bp = Blueprint("fees", __name__)

RECEIPT_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "receipt.css"


@bp.app_template_filter("ym")
def _year_month(value) -> str:
    """2026-12: the month of a datetime in Tokyo, as the money page's ?month= wants it."""
    return to_local(value).strftime("%Y-%m")


@bp.app_template_filter("month_label")
def _month_label(value) -> str:
    return format_date(value, "y年M月" if current_lang() == "ja" else "MMMM y",
                       locale=current_lang())


def _apply_errors(form, exc: GatheringError) -> None:
    """Show a service refusal next to the field it concerns, or above the form."""
    placed = False
    for name, messages in (exc.fields or {}).items():
        field = getattr(form, name, None)
        if field is None and name == "method":
            field = form._fields.get("refund_method")
        if field is None or not hasattr(field, "errors"):
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors or [])
        field.errors.extend(str(m) for m in messages)
        placed = True
    if not placed:
        form.form_errors.append(str(exc.message))


def _csv(data: bytes, filename: str) -> Response:
    return Response(data, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------
# The money view of one event


def _entry_form(event, regs, form=None) -> LedgerEntryForm:
    form = form or LedgerEntryForm()
    lang = current_lang()
    form.registration_id.choices = [SelectChoice(0, _("— choose —"))] + [
        SelectChoice(p.registration.id, _("%(name)s (no. %(id)d): due %(due)s, paid %(paid)s",
                              name=p.registration.name_in(lang), id=p.registration.id,
                              due=format_yen(p.due, lang), paid=format_yen(p.paid, lang)))
        for p in regs]
    if not form.nonce.data:
        form.nonce.data = new_token()
    return form


def _count_form(event, form=None) -> CashCountForm:
    form = form or CashCountForm()
    form.volunteer_id.choices = [SelectChoice(0, _("The whole event"))] + [
        SelectChoice(u.id, u.name or u.email) for u in services.event_staff(db.session, event)]
    return form


def _render_money(event, entry_form=None, count_form=None, status=200, offer=None,
                  prefill=None):
    """The money page. ``offer``: cash refused as more than owed, to record the balance with
    change instead; ``prefill``: (registration id, kind) to start the entry form with."""
    summary, lines = services.event_money(db.session, event)
    entry_form = _entry_form(event, lines, entry_form)
    if prefill is not None:
        reg_id, kind = prefill
        party = next((p for p in lines if p.registration.id == reg_id), None)
        if party is not None:
            entry_form.registration_id.data = reg_id
            entry_form.kind.data = kind
            if kind == "refund" and party.balance < 0:
                entry_form.amount.data = str(-party.balance)
    return render_template(
        "fees/money_event.html", event=event, summary=summary, lines=lines,
        payments=services.list_event_payments(db.session, event),
        cash=services.cash_position(db.session, event),
        counts=services.list_cash_counts(db.session, event),
        entry_form=entry_form, offer=offer,
        count_form=_count_form(event, count_form), methods=PaymentMethod,
        change_due=services.change_due, status_label=services.registration_status_label), \
        status


@bp.get("/organizer/events/<int:event_id>/money")
@login_required
def event_money(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    # ?registration=<id>&kind=refund: the door's "record the refund" link starts the form
    prefill = None
    reg_id = request.args.get("registration", type=int)
    if reg_id and request.args.get("kind") in {c.value for c in ENTRY_KINDS}:
        prefill = (reg_id, request.args["kind"])
    return _render_money(event, prefill=prefill)


def _change_offer(reg, form, exc: GatheringError) -> dict | None:
    """Cash refused as more than owed: what the page offers to record instead."""
    if exc.code != "exceeds_balance":
        return None
    return {"registration_id": reg.id, "name": reg.name_in(current_lang()),
            "nonce": form.nonce.data,
            "handed_over": exc.details["handed_over"], "balance": exc.details["balance"],
            "change": exc.details["change"]}


@bp.post("/organizer/events/<int:event_id>/money/entries")
@login_required
def add_entry(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    _summary, lines = services.event_money(db.session, event)
    form = _entry_form(event, lines)
    if not form.validate_on_submit() or not form.registration_id.data:
        if not form.registration_id.data and not form.registration_id.errors:
            form.registration_id.errors = [_("Choose a sign-up.")]
        return _render_money(event, entry_form=form, status=422)
    reg = db.session.get(Registration, form.registration_id.data)
    if reg is None or reg.event_id != event.id:
        abort(404)
    kind = form.kind.data
    payment = None
    try:
        amount = services.parse_yen(form.amount.data)
        if kind == "refund":
            services.record_refund(db.session, reg, amount, form.refund_method.data,
                                   reason=form.reason.data, reference=form.reference.data,
                                   user=current_user, nonce=form.nonce.data)
        elif kind == "waived":
            services.waive(db.session, reg, amount, reason=form.reason.data, user=current_user,
                           nonce=form.nonce.data)
        elif kind == PaymentMethod.cash:
            # Cash is never recorded above what is owed: the rest is change (see the service).
            keep = services.parse_yen(form.keep.data, field_name="keep",
                                         allow_zero=True) if form.keep.data \
                else None
            payment = services.receive_cash(db.session, reg, amount, keep=keep,
                                            user=current_user, nonce=form.nonce.data)
        else:
            services.record_payment(db.session, reg, amount, kind, user=current_user,
                                    nonce=form.nonce.data, reference=form.reference.data,
                                    reason=form.reason.data, received_on=form.received_on.data)
    except GatheringError as exc:
        db.session.rollback()
        event = events.get_event_for_user(db.session, event_id, current_user)
        reg = db.session.get(Registration, form.registration_id.data)
        _apply_errors(form, exc)
        return _render_money(event, entry_form=form, status=exc.status,
                             offer=_change_offer(reg, form, exc))
    db.session.commit()
    change = services.change_due(payment) if payment is not None else None
    if change:
        flash(_("Recorded %(amount)s for %(name)s. Give back %(change)s in change.",
                name=reg.name_in(current_lang()),
                amount=format_yen(payment.amount, current_lang()),
                change=format_yen(change, current_lang())), "success")
    else:
        flash(_("Recorded for %(name)s.", name=reg.name_in(current_lang())), "success")
    # a transfer that arrived above what is owed is real money: say it is owed back
    over = -services.balance(db.session, reg)
    if over > 0 and kind in (PaymentMethod.bank_transfer, PaymentMethod.online):
        flash(_("%(name)s has now paid %(amount)s more than is owed: pay it back and record "
                "the refund.", name=reg.name_in(current_lang()),
                amount=format_yen(over, current_lang())),
              "warning")
    return redirect(url_for("fees.event_money", event_id=event.id) + "#ledger")


@bp.post("/organizer/events/<int:event_id>/money/cash-counts")
@login_required
def add_cash_count(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    form = _count_form(event)
    if not form.validate_on_submit():
        return _render_money(event, count_form=form, status=422)
    volunteer = None
    if form.volunteer_id.data:
        volunteer = next((u for u in services.event_staff(db.session, event)
                          if u.id == form.volunteer_id.data), None)
    try:
        counted = services.parse_yen(form.counted.data, field_name="counted", allow_zero=True)
        float_amount = services.parse_yen(form.float_amount.data or "0",
                                          field_name="float_amount", allow_zero=True)
        count = services.record_cash_count(db.session, event, counted,
                                           float_amount=float_amount, volunteer=volunteer,
                                           note=form.note.data, user=current_user)
    except GatheringError as exc:
        db.session.rollback()
        event = events.get_event_for_user(db.session, event_id, current_user)
        _apply_errors(form, exc)
        return _render_money(event, count_form=form, status=exc.status)
    db.session.commit()
    line = next(c for c in services.cash_position(db.session, event)
                if (c.volunteer.id if c.volunteer else None) == count.volunteer_id)
    if line.difference == 0:
        flash(_("The count matches the ledger."), "success")
    elif line.difference > 0:
        flash(_("The till has %(amount)s more than the ledger.",
                amount=format_yen(line.difference, current_lang())), "warning")
    else:
        flash(_("The till is %(amount)s short of the ledger.",
                amount=format_yen(-line.difference, current_lang())), "warning")
    return redirect(url_for("fees.event_money", event_id=event.id) + "#cash")


@bp.get("/organizer/events/<int:event_id>/money/ledger.csv")
@login_required
def ledger_csv(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    return _csv(services.ledger_csv(db.session, event), f"ledger-event-{event.id}.csv")


@bp.get("/organizer/events/<int:event_id>/money/balances.csv")
@login_required
def balances_csv(event_id: int):
    event = events.get_event_for_user(db.session, event_id, current_user)
    return _csv(services.balances_csv(db.session, event), f"balances-event-{event.id}.csv")


# ---------------------------------------------------------------------------------------
# The money of a month


def _month_branches() -> list[Branch]:
    if current_user.is_admin:
        return list(db.session.scalars(sa.select(Branch).order_by(Branch.name)))
    return [b for b in current_user.branches if current_user.can_manage_branch(b.id)]


def _chosen_branches() -> tuple[list[Branch], str, list[Branch]]:
    """The groups the user may see the money of, the ?branch= asked for, and those chosen."""
    branches = _month_branches()
    if not branches:
        abort(403)
    slug = request.args.get("branch", "")
    chosen = [b for b in branches if b.slug == slug] if slug else branches
    if slug and not chosen:
        abort(404)
    return branches, slug, chosen


def _report_args(report, arg: str, message: str):
    """The groups, the ?branch= asked for, and ``report``'s (period, rows, total) for the
    ?``arg``= asked for: one it cannot read gives the current period and ``message``."""
    branches, slug, chosen = _chosen_branches()
    ids = [b.id for b in chosen]
    try:
        period, rows, total = report(db.session, ids, request.args.get(arg), now=utcnow())
    except ValidationFailed:
        period, rows, total = report(db.session, ids, None, now=utcnow())
        flash(message, "error")
    return branches, slug, period, rows, total


def _month_args():
    return _report_args(services.month_money, "month", _("Choose a month like 2026-12."))


def _year_args():
    return _report_args(services.year_money, "year", _("Choose a fiscal year like 2026."))


def _year_page():
    """The fiscal year (年度, April to March; ?year=2026 is 2026-04 to 2027-03): each event
    with its money and people, and the year's total, for the 実績報告書."""
    branches, slug, fy, rows, total = _year_args()
    return render_template("fees/money_year.html", branches=branches, slug=slug, fy=fy,
                           era=services.fiscal_year_era(fy), rows=rows, total=total,
                           counts=services.count_events(rows),
                           status_label=services.event_status_label)


@bp.get("/organizer/money")
@login_required
def month():
    if "year" in request.args:
        return _year_page()
    branches, slug, first, rows, total = _month_args()
    prev = (first - timedelta(days=1)).strftime("%Y-%m")
    nxt = (first + timedelta(days=32)).strftime("%Y-%m")
    return render_template("fees/money_month.html", branches=branches, slug=slug, first=first,
                           rows=rows, total=total, prev=prev, next=nxt,
                           counts=services.count_events(rows),
                           status_label=services.event_status_label,
                           month=first.strftime("%Y-%m"), fy=services.fiscal_year(first))


@bp.get("/organizer/money.csv")
@login_required
def month_csv():
    """The month's CSV, or with ?year=2026 the fiscal year's (its last row the total)."""
    if "year" in request.args:
        _branches, slug, fy, rows, total = _year_args()
        name = f"money-fy{fy}{'-' + slug if slug else ''}.csv"
        return _csv(services.year_csv(fy, rows, total), name)
    _branches, slug, first, rows, _total = _month_args()
    name = f"money-{first:%Y-%m}{'-' + slug if slug else ''}.csv"
    return _csv(services.month_csv(rows), name)


# ---------------------------------------------------------------------------------------
# Receipts for staff (organizers, and volunteers at the door)


@bp.route("/organizer/registrations/<int:registration_id>/receipt", methods=["GET", "POST"])
@login_required
def registration_receipt(registration_id: int):
    reg = services.get_registration_for_user(db.session, registration_id, current_user)
    receipts = services.list_receipts(db.session, reg)
    latest = receipts[-1] if receipts else None
    form = ReceiptForm()
    figures = services.receipt_figures(db.session, reg)
    if request.method == "GET":
        form.addressee.data = latest.addressee if latest else _addressee(reg)
        form.proviso.data = latest.proviso if latest else services.default_proviso(reg.event)
    elif form.validate_on_submit():
        try:
            receipt = services.issue_receipt(db.session, reg, addressee=form.addressee.data,
                                             proviso=form.proviso.data, user=current_user,
                                             reissue=form.reissue.data == "1")
        except GatheringError as exc:
            db.session.rollback()
            reg = services.get_registration_for_user(db.session, registration_id, current_user)
            _apply_errors(form, exc)
        else:
            db.session.commit()
            return redirect(url_for("fees.receipt", receipt_id=receipt.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("fees/receipt_issue.html", registration=reg, receipts=receipts,
                           latest=latest, form=form, figures=figures, resident=False,
                           current=services.receipt_is_current(latest, figures)), status


def _addressee(reg: Registration) -> str:
    """The 宛名 a first receipt starts with: the name the payer asked for, else theirs as a
    letter in this page's language addresses it (Amy Brown in English)."""
    return reg.receipt_name or reg.name_in(current_lang())


def _receipt_page(receipt: Receipt, pdf_url: str, back_url: str, *, outdated_by=None):
    """``outdated_by``: the receipt figures of the party when the money changed since this
    receipt was issued (staff see it, with a warning; residents are sent to get a new one)."""
    paper = "58" if request.args.get("paper") == "58" else "a4"
    return render_template("fees/receipt.html", receipt=receipt, paper=paper, pdf_url=pdf_url,
                           back_url=back_url, amount_text=services.receipt_amount_text,
                           stamp=services.needs_stamp_note(receipt), outdated_by=outdated_by)


def _receipt_pdf(receipt: Receipt) -> Response:
    paper = "58" if request.args.get("paper") == "58" else "a4"
    html = render_template("fees/receipt_pdf.html", receipt=receipt, paper=paper,
                           amount_text=services.receipt_amount_text,
                           stamp=services.needs_stamp_note(receipt, on_paper=False))
    pdf = services.render_receipt_pdf(html, base_url=request.url_root, stylesheet=RECEIPT_CSS)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="receipt-{receipt.number}.pdf"',
        "Cache-Control": "no-store"})


@bp.get("/organizer/receipts/<int:receipt_id>")
@login_required
def receipt(receipt_id: int):
    receipt = services.get_receipt_for_user(db.session, receipt_id, current_user)
    figures = services.receipt_figures(db.session, receipt.registration)
    return _receipt_page(
        receipt, url_for("fees.receipt_pdf", receipt_id=receipt.id),
        url_for("fees.registration_receipt", registration_id=receipt.registration_id),
        outdated_by=None if services.receipt_is_current(receipt, figures) else figures)


@bp.get("/organizer/receipts/<int:receipt_id>.pdf")
@login_required
def receipt_pdf(receipt_id: int):
    return _receipt_pdf(services.get_receipt_for_user(db.session, receipt_id, current_user))


# ---------------------------------------------------------------------------------------
# Receipts for residents, from their manage link


def _receipt_limit() -> str:
    return current_app.config["RATELIMIT_RECEIPT"]


@bp.route("/r/<manage_token>/receipt", methods=["GET", "POST"])
@csrf.exempt  # checked below, where a failure can show the form again instead of a bare 400
@limiter.limit(_receipt_limit, methods=["POST"])
def resident_receipt(manage_token: str):
    reg = get_registration_by_manage_token(db.session, manage_token)
    receipts = services.list_receipts(db.session, reg)
    latest = receipts[-1] if receipts else None
    figures = services.receipt_figures(db.session, reg)
    form = ReceiptForm()
    session_lost = request.method == "POST" and csrf_failed()
    if request.method == "GET":
        form.addressee.data = latest.addressee if latest else _addressee(reg)
    elif session_lost:
        # nothing is issued: the form again with the name as typed and a fresh token
        form.form_errors.append(_("This page was open for a long time, so the receipt is "
                                  "not made yet. Please check the name and press the "
                                  "button again."))
    elif form.validate_on_submit():
        try:
            receipt = services.issue_receipt(db.session, reg, addressee=form.addressee.data)
        except GatheringError as exc:
            db.session.rollback()
            reg = get_registration_by_manage_token(db.session, manage_token)
            _apply_errors(form, exc)
        else:
            db.session.commit()
            if latest is None or receipt.id != latest.id:
                flash(_("Your receipt is ready."), "success")
            return redirect(url_for("fees.resident_receipt_view", manage_token=manage_token))
    status = 400 if session_lost else 422 if form.errors or form.form_errors else 200
    return render_template("fees/receipt_issue.html", registration=reg, receipts=receipts,
                           latest=latest, form=form, figures=figures, resident=True,
                           current=services.receipt_is_current(latest, figures),
                           manage_token=manage_token, back_url=_manage_url(manage_token)), status


def _manage_url(manage_token: str) -> str | None:
    try:
        return url_for("rsvp.manage", token=manage_token)
    except BuildError:  # the sign-up pages name it; until then there is no way back
        return None


def _resident_latest(manage_token: str) -> Receipt | None:
    """The party's latest receipt while it still states what the party paid; None when the
    money changed since (a refund, a later payment): that receipt is not handed out again.
    404 when there is none at all."""
    reg = get_registration_by_manage_token(db.session, manage_token)
    latest = services.latest_receipt(db.session, reg)
    if latest is None:
        abort(404)
    if not services.receipt_is_current(latest, services.receipt_figures(db.session, reg)):
        return None
    return latest


@bp.get("/r/<manage_token>/receipt/view")
def resident_receipt_view(manage_token: str):
    latest = _resident_latest(manage_token)
    if latest is None:  # the receipt page says why, and offers the new one if any
        return redirect(url_for("fees.resident_receipt", manage_token=manage_token))
    return _receipt_page(latest, url_for("fees.resident_receipt_pdf", manage_token=manage_token),
                         url_for("fees.resident_receipt", manage_token=manage_token))


@bp.get("/r/<manage_token>/receipt.pdf")
@limiter.limit(_receipt_limit)
def resident_receipt_pdf(manage_token: str):
    latest = _resident_latest(manage_token)
    if latest is None:
        return redirect(url_for("fees.resident_receipt", manage_token=manage_token))
    return _receipt_pdf(latest)
