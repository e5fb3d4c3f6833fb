"""The organizer area: dashboard, events and recurring series."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
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
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from gathering import idempotency
from gathering.accounts.models import Branch
from gathering.checkin.services import Attendance, attendance_counts, live_counts
from gathering.errors import Forbidden, GatheringError, ValidationFailed
from gathering.events import recurrence, services
from gathering.events.models import Event, EventStatus, Series
from gathering.extensions import db
from gathering.organizer.forms import ConfirmForm, EventForm, SeriesForm
from gathering.rsvp.mails import notify_event_cancelled, notify_event_moved, notify_promoted
from gathering.security import new_token
from gathering.timeutil import TOKYO, to_local, utcnow

bp = Blueprint("organizer", __name__, url_prefix="/organizer")


@bp.before_request
@login_required
def _require_login():
    return None


def _managed_branches() -> list[Branch]:
    if current_user.is_admin:
        return list(db.session.scalars(sa.select(Branch).order_by(Branch.id)))
    return [b for b in current_user.branches if current_user.can_manage_branch(b.id)]


def _require_organizer() -> list[Branch]:
    branches = _managed_branches()
    if not branches:
        raise Forbidden()
    return branches


def _prepare(form, branches, branch_id=None) -> None:
    form.branch_id.choices = [SelectChoice(b.id, b.name) for b in branches]
    venues = services.list_venues(db.session, [b.id for b in branches])
    form.venue_id.choices = [SelectChoice(0, _("— a new venue (fill in below) —"))] + [
        SelectChoice(v.id, f"{v.name} ({v.branch.name})") for v in venues]


def _new_form(form_class, branches):
    """A new-event or new-series form: its branches and venues, and, when first shown, the
    default fees and the key that makes sending it twice create once."""
    form = form_class()
    _prepare(form, branches)
    if request.method == "GET":
        _fill_fees(form, _default_fees())
        form.form_key.data = new_token()
    return form


def _branch_from(form, branches) -> Branch:
    for b in branches:
        if b.id == form.branch_id.data:
            return b
    raise Forbidden()


def _apply_field_errors(form, exc: ValidationFailed) -> None:
    """Show service-level field errors next to the form fields they belong to."""
    for key, messages in exc.fields.items():
        if key.startswith("venue."):
            name = "venue_" + key.split(".", 1)[1]
        elif key.startswith("fees."):
            name = "fees"
        else:
            name = key
        field = getattr(form, name, None)
        texts = [str(m) for m in messages]
        if field is None or not hasattr(field, "errors"):
            form.form_errors.extend(texts)
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors or [])
        field.errors.extend(texts)


def _default_fees() -> list[dict]:
    return [{"code": "child", "label": _("Child"), "amount": 0},
            {"code": "adult", "label": _("Adult"), "amount": 300}]


def _fill_fees(form, fees: list[dict]) -> None:
    """Put a fee table into the form's rows. ``row.form.label``: ``row.label`` would be the
    row's own <label>, not the fee-name field.

    Every fee gets a row, and one empty row follows for a new fee (up to the table's
    limit): a fee without a row would be removed by the next save (an event of the API
    may have more fees than the form's four rows)."""
    while len(form.fees.entries) < min(len(fees) + 1, form.fees.max_entries):
        form.fees.append_entry()
    for entry, fee in zip(form.fees.entries, fees, strict=False):
        row = entry.form
        row.code.data, row.label.data, row.amount.data = fee["code"], fee["label"], fee["amount"]


def _local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=TOKYO) if value else None


@bp.get("/")
def dashboard():
    now = utcnow()
    events = services.list_branch_events(db.session, current_user, now=now)
    series = services.list_user_series(db.session, current_user)
    return render_template("organizer/dashboard.html", events=events, series=series, now=now,
                           describe=recurrence.describe)


@bp.get("/past")
def past_events():
    """The events of the user's groups that have ended, the latest first, a page at a time:
    the way back to their sign-ups, no-shows and money once the dashboard no longer lists
    them."""
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        abort(400)
    if not 1 <= page <= 100_000:
        abort(400)
    result = services.list_past_branch_events(db.session, current_user, now=utcnow(),
                                              page=page,
                                              per_page=current_app.config["EVENTS_PER_PAGE"])
    counts = attendance_counts(db.session, [e.id for e in result.items])
    return render_template("organizer/past.html", page=result, counts=counts,
                           nobody=Attendance())


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    event = services.get_event_for_user(db.session, event_id, current_user, staff=True)
    return render_template("organizer/event.html", event=event, form=ConfirmForm(),
                           can_manage=current_user.can_manage_branch(event.branch_id),
                           signup_state=services.signup_state(event, utcnow()),
                           door_counts=live_counts(db.session, event, utcnow()))


def _created_before(scope: str, form) -> int | None:
    """The id of what this very form created when it was first sent (a double tap, a form
    sent again from the back button), or None."""
    key = form.form_key.data
    if not key or len(key) > 120:
        return None
    record = idempotency.get_record(db.session, f"{scope}:{current_user.id}", key)
    return record.response["id"] if record is not None else None


def _commit_created(scope: str, form, created_id: int) -> int:
    """Commit what the form created, remembered under the form's key; when a twin request
    with the same key committed first (the unique key), that one's id instead."""
    key = form.form_key.data
    try:
        if key and len(key) <= 120:
            idempotency.save_record(db.session, f"{scope}:{current_user.id}", key,
                                    {"id": created_id})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = _created_before(scope, form)
        if first is None:
            raise
        return first
    return created_id


@bp.route("/events/new", methods=["GET", "POST"])
def event_new():
    branches = _require_organizer()
    form = _new_form(EventForm, branches)
    if form.validate_on_submit():
        if (done := _created_before("event-new", form)) is not None:
            return redirect(url_for("organizer.event", event_id=done))
        data = _event_data(form)
        data["status"] = EventStatus.published.value if form.publish.data else "draft"
        try:
            cleaned = services.clean_event_data(data)
            event = services.create_event(db.session, current_user, _branch_from(form, branches),
                                          cleaned)
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_field_errors(form, exc)
        else:
            ends_at = event.ends_at
            event_id = _commit_created("event-new", form, event.id)
            flash(_("The event was created."), "success")
            if ends_at <= utcnow():
                # kept for the records (a report of what took place), but nobody will find it
                flash(_("This event is already over: it is not listed for residents and "
                        "nobody can sign up. If the date is wrong, correct it."), "warning")
            return redirect(url_for("organizer.event", event_id=event_id))
    return render_template("organizer/event_form.html", form=form, event=None)


def _event_data(form: EventForm, fees=(), *, placeless: bool = True) -> dict:
    """The form's event; ``fees``: the event's fee categories before this edit;
    ``placeless``: the event has no venue yet (``form.venue_data``)."""
    return {
        "title": form.title.data, "kind": form.kind.data, "description": form.description.data,
        "starts_at": _local(form.starts_at.data), "ends_at": _local(form.ends_at.data),
        "signup_opens_at": _local(form.signup_opens_at.data),
        "signup_closes_at": _local(form.signup_closes_at.data),
        "capacity": form.capacity.data, "fee_basis": form.fee_basis.data,
        "fees": form.fee_data(fees), **form.venue_data(placeless=placeless),
    }


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
def event_edit(event_id: int):
    event = services.get_event_for_user(db.session, event_id, current_user)
    if event.is_cancelled:  # saving would be refused: say so before anything is typed
        flash(_("This event is cancelled."), "info")
        return redirect(url_for("organizer.event", event_id=event.id))
    branches = [event.branch]
    form = EventForm(obj=None)
    _prepare(form, branches)
    version = event.updated_at.isoformat()
    if request.method == "GET":
        _fill_event_form(form, event)
        form.version.data = version
    form.branch_id.data = event.branch_id
    submitted = form.validate_on_submit()
    if submitted and form.version.data and form.version.data != version:
        form.form_errors.append(_(
            "Someone saved this event after you opened this page. Reload the page to see "
            "their change, then make yours again."))
        return render_template("organizer/event_form.html", form=form, event=event), 409
    needs_confirm = False
    if submitted:
        data = _event_data(form, [{"code": f.code, "label": f.label} for f in event.fees],
                           placeless=event.venue_id is None)
        # unticked on a published event, the box takes it back to draft, as the series
        # form does (update_event refuses that once people have signed up)
        data["status"] = (EventStatus.published.value if form.publish.data
                          else EventStatus.draft.value)
        old_times, old_capacity = (event.starts_at, event.ends_at), event.capacity
        was_published, was_over = event.is_published, event.ends_at <= utcnow()
        try:
            cleaned = services.clean_event_data(data)
            promoted = services.update_event(db.session, current_user, event, cleaned,
                                             confirm_past=form.confirm.data)
        except services.MoveIntoPastNeedsConfirmation as exc:
            db.session.rollback()
            needs_confirm = True
            flash(_moved_into_past_warning(exc.details["parties"]), "warning")
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_field_errors(form, exc)
        except GatheringError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            moved = (event.starts_at, event.ends_at) != old_times
            told = notify_promoted(promoted, {event.id: old_times} if moved else None)
            flash(_("The event was saved."), "success")
            if was_published and not event.is_published:
                flash(_("The event is a draft again: residents no longer see it."), "info")
            if moved:
                _flash_moved(*notify_event_moved(event, *old_times, told=told))
            if not was_over and event.ends_at <= utcnow():
                flash(_("This event is already over: it is not listed for residents and "
                        "nobody can sign up. If the date is wrong, correct it."), "warning")
            if event.capacity != old_capacity:
                _flash_waiting_too_large(services.count_waiting_too_large(db.session, [event]),
                                         event.capacity)
            return redirect(url_for("organizer.event", event_id=event.id))
    # a box ticked stays shown while another field still needs fixing
    return render_template("organizer/event_form.html", form=form, event=event,
                           needs_confirm=needs_confirm or bool(form.confirm.data))


def _flash_waiting_too_large(parties: int, seats: int | None) -> None:
    """Say how many waiting parties a smaller capacity left larger than the seats in all:
    the edit stands, but nobody cancelling can ever make room for them."""
    if not parties:
        return
    flash(ngettext(
        "%(num)d party on the waiting list has more people than the %(seats)d seats of "
        "this event in all, so it can never move up. Please contact it (the sign-up list "
        "has the number), or give the event more seats.",
        "%(num)d parties on the waiting list have more people than the %(seats)d seats of "
        "this event in all, so they can never move up. Please contact them (the sign-up "
        "list has their numbers), or give the event more seats.", parties, seats=seats),
        "warning")


def _moved_into_past_warning(parties: int) -> str:
    """What an edit moving an event into the past asks before it is saved."""
    if parties:
        return ngettext(
            "This date is already over: residents will not see the event, and the %(num)d "
            "party signed up will be told of this date by e-mail. If the date is right, "
            "tick the box below and save again.",
            "This date is already over: residents will not see the event, and the %(num)d "
            "parties signed up will be told of this date by e-mail. If the date is right, "
            "tick the box below and save again.", parties)
    return _("This date is already over: residents will not see the event. If the date is "
             "right, tick the box below and save again.")


def _fill_event_form(form: EventForm, event: Event) -> None:
    form.title.data, form.kind.data, form.description.data = event.title, event.kind, \
        event.description
    for name in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
        value = getattr(event, name)
        getattr(form, name).data = to_local(value).replace(tzinfo=None) if value else None
    form.capacity.data, form.fee_basis.data = event.capacity, event.fee_basis
    form.venue_id.data = event.venue_id or 0
    form.publish.data = event.status == EventStatus.published
    _fill_fees(form, [{"code": f.code, "label": f.label, "amount": f.amount} for f in event.fees])


@bp.post("/events/<int:event_id>/publish")
def event_publish(event_id: int):
    event = services.get_event_for_user(db.session, event_id, current_user)
    if ConfirmForm().validate_on_submit():
        try:
            services.publish_event(db.session, current_user, event)
        except GatheringError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("The event is published."), "success")
    return redirect(url_for("organizer.event", event_id=event.id))


@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
def event_cancel(event_id: int):
    """GET asks first (a mistaken tap would tell every family and calendar); POST cancels.

    A draft cannot be cancelled (``services.check_can_cancel``): its GET says why and
    offers no form, its POST is refused."""
    event = services.get_event_for_user(db.session, event_id, current_user)
    if request.method == "GET":
        if event.is_cancelled:
            return redirect(url_for("organizer.event", event_id=event.id))
        try:
            services.check_can_cancel(event)
        except GatheringError as exc:
            return render_template("organizer/event_cancel.html", event=event,
                                   refusal=str(exc.message))
        return render_template("organizer/event_cancel.html", event=event, form=ConfirmForm(),
                               registrations=services.registrations_count(db.session, event),
                               cancelled_days=current_app.config["CANCELLED_EVENTS_IN_FEED_DAYS"],
                               refusal=None)
    if ConfirmForm().validate_on_submit():
        try:
            services.cancel_event(db.session, current_user, event)
        except GatheringError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("The event is cancelled. It stays listed, marked as cancelled."), "success")
            mailed, unreachable = notify_event_cancelled(event)
            if mailed:
                flash(ngettext("%(num)d party was told by e-mail.",
                               "%(num)d parties were told by e-mail.", mailed), "info")
            if unreachable:
                flash(ngettext("%(num)d party could not be told by e-mail: please phone them "
                               "(the sign-up list has their numbers).",
                               "%(num)d parties could not be told by e-mail: please phone "
                               "them (the sign-up list has their numbers).", unreachable),
                      "warning")
    return redirect(url_for("organizer.event", event_id=event.id))


# ---------------------------------------------------------------------------------------
# Series


def _series_data(form: SeriesForm, fees=(), *, placeless: bool = True) -> dict:
    """The form's series; ``fees``: its fee table before this edit; ``placeless``: the
    series has no venue yet (``form.venue_data``)."""
    start = datetime.combine(form.first_date.data, form.start_time.data, TOKYO)
    return {
        "title": form.title.data, "kind": form.kind.data, "description": form.description.data,
        # an end at or before the start is the next day's (22:00〜2:00)
        "starts_at": start, "duration_minutes": recurrence.span_minutes(
            form.first_date.data, form.start_time.data, form.end_time.data),
        "capacity": form.capacity.data, "fee_basis": form.fee_basis.data,
        "fees": form.fee_data(fees),
        "status": EventStatus.published.value if form.publish.data else "draft",
        "signup_opens_days_before": form.signup_opens_days_before.data,
        "signup_closes_hours_before": form.signup_closes_hours_before.data or 0,
        "ends_on": form.ends_on.data,
        "pattern": recurrence.Pattern(form.pattern.data, weekdays=form.weekdays.data or [],
                                      nths=form.nths.data or [], monthday=form.monthday.data),
        **form.venue_data(placeless=placeless),
    }


def _clean_series(form: SeriesForm, fees=(), *, placeless: bool = True) -> dict | None:
    data = _series_data(form, fees, placeless=placeless)
    try:
        return services.clean_series_data(data)
    except ValidationFailed as exc:
        # the form asks for the length of a date as its end time: say it there
        if "duration_minutes" in exc.fields:
            exc.fields["end_time"] = [*exc.fields.get("end_time", []),
                                      *exc.fields.pop("duration_minutes")]
        _apply_field_errors(form, exc)
        return None


@bp.route("/series/new", methods=["GET", "POST"])
def series_new():
    branches = _require_organizer()
    form = _new_form(SeriesForm, branches)
    submitted = form.validate_on_submit()
    if submitted and (done := _created_before("series-new", form)) is not None:
        return redirect(url_for("organizer.series", series_id=done))
    if submitted and (cleaned := _clean_series(form)) is not None:
        try:
            series = services.create_series(
                db.session, current_user, _branch_from(form, branches), cleaned, now=utcnow(),
                months=current_app.config["SERIES_HORIZON_MONTHS"])
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_field_errors(form, exc)
        else:
            dates = len(series.events)
            series_id = _commit_created("series-new", form, series.id)
            if series_id == series.id:
                flash(_("The series was created with %(n)d dates.", n=dates), "success")
            return redirect(url_for("organizer.series", series_id=series_id))
    return render_template("organizer/series_form.html", form=form, series=None, needs_confirm=False)


@bp.get("/series/<int:series_id>")
def series(series_id: int):
    series = services.get_series_for_user(db.session, series_id, current_user)
    now = utcnow()
    past = [e for e in reversed(series.events) if e.ends_at < now]  # the latest first
    return render_template("organizer/series.html", series=series, now=now,
                           upcoming=[e for e in series.events if e.ends_at >= now], past=past,
                           counts=attendance_counts(db.session, [e.id for e in past]),
                           nobody=Attendance(), describe=recurrence.describe,
                           form=ConfirmForm())


@bp.route("/series/<int:series_id>/edit", methods=["GET", "POST"])
def series_edit(series_id: int):
    series = services.get_series_for_user(db.session, series_id, current_user)
    form = SeriesForm()
    _prepare(form, [series.branch])
    form.branch_id.data = series.branch_id
    needs_confirm = False
    booked_dates: list[Event] = []
    if request.method == "GET":
        _fill_series_form(form, series)
    old_capacity = series.capacity
    if form.validate_on_submit() and (
            cleaned := _clean_series(form, series.fee_template or [],
                                     placeless=series.venue_id is None)) is not None:
        try:
            result = services.update_series(
                db.session, current_user, series, cleaned, now=utcnow(),
                months=current_app.config["SERIES_HORIZON_MONTHS"], confirm=form.confirm.data)
        except services.SeriesDraftHasRegistrations as exc:
            db.session.rollback()
            # next to the box unticked, with the dates to cancel instead
            form.publish.errors = [*form.publish.errors, str(exc.message)]
            booked_dates = [db.session.get(Event, event_id) for event_id in exc.details["events"]]
            needs_confirm = bool(form.confirm.data)  # a box ticked stays shown
        except services.SeriesChangeNeedsConfirmation as exc:
            db.session.rollback()
            needs_confirm = True
            flash(str(exc.message), "warning")
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_field_errors(form, exc)
        except GatheringError as exc:  # e.g. a fee people chose removed from the table
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("The series was saved: %(updated)d dates changed, %(created)d added, "
                    "%(removed)d removed, %(cancelled)d cancelled.",
                    updated=result["updated"], created=result["created"],
                    removed=result["removed"], cancelled=result["cancelled"]), "success")
            _tell_cancelled_dates(result["cancelled_events"])
            _tell_moved_dates(result["promoted"], result["moved_events"])
            if series.capacity != old_capacity:
                _flash_series_waiting_too_large(services.count_waiting_too_large(
                    db.session, services.affected_occurrences(db.session, series, utcnow())))
            return redirect(url_for("organizer.series", series_id=series.id))
    return render_template("organizer/series_form.html", form=form, series=series,
                           needs_confirm=needs_confirm, booked_dates=booked_dates)


def _tell_cancelled_dates(cancelled: list[Event]) -> None:
    """Mail the parties of the dates a series edit cancelled (after its commit), as
    cancelling one date does, and say how many were told and how many to phone."""
    mailed = unreachable = 0
    for event in cancelled:
        told, not_told = notify_event_cancelled(event)
        mailed += told
        unreachable += not_told
    if mailed:
        flash(ngettext("%(num)d party signed up for the cancelled dates was told by e-mail.",
                       "%(num)d parties signed up for the cancelled dates were told by e-mail.",
                       mailed), "info")
    if unreachable:
        flash(ngettext("%(num)d party signed up for the cancelled dates could not be told by "
                       "e-mail: please phone them (each date's sign-up list has their "
                       "numbers).",
                       "%(num)d parties signed up for the cancelled dates could not be told "
                       "by e-mail: please phone them (each date's sign-up list has their "
                       "numbers).", unreachable), "warning")


def _flash_series_waiting_too_large(parties: int) -> None:
    """As _flash_waiting_too_large, for the dates a series edit gave fewer seats."""
    if parties:
        flash(ngettext(
            "%(num)d party waiting for a date of this series has more people than that "
            "date's seats in all, so it can never move up. Please contact it (the date's "
            "sign-up list has the number), or give the date more seats.",
            "%(num)d parties waiting for dates of this series have more people than their "
            "date's seats in all, so they can never move up. Please contact them (each "
            "date's sign-up list has their numbers), or give those dates more seats.",
            parties), "warning")


def _flash_moved(mailed: int, unreachable: int) -> None:
    """Say how many parties of a moved date were told by mail, and how many to phone."""
    if mailed:
        flash(ngettext("%(num)d party signed up was told of the new date by e-mail.",
                       "%(num)d parties signed up were told of the new date by e-mail.",
                       mailed), "info")
    if unreachable:
        flash(ngettext("%(num)d party signed up could not be told of the new date by e-mail: "
                       "please phone them (the sign-up list has their numbers).",
                       "%(num)d parties signed up could not be told of the new date by "
                       "e-mail: please phone them (the sign-up list has their numbers).",
                       unreachable), "warning")


def _tell_moved_dates(promoted: list, moved: list[tuple[Event, datetime, datetime]]) -> None:
    """Mail the parties a series edit confirmed from the waiting lists, and those of the
    dates it moved (after its commit): one mail to a party both promoted and moved."""
    promoted_told = notify_promoted(promoted, {event.id: (old_starts_at, old_ends_at)
                                               for event, old_starts_at, old_ends_at in moved})
    mailed = unreachable = 0
    for event, old_starts_at, old_ends_at in moved:
        told, not_told = notify_event_moved(event, old_starts_at, old_ends_at,
                                            told=promoted_told)
        mailed += told
        unreachable += not_told
    _flash_moved(mailed, unreachable)


def _fill_series_form(form: SeriesForm, series: Series) -> None:
    pattern = recurrence.from_rrule(series.rrule)
    local = to_local(series.starts_at)
    form.title.data, form.kind.data, form.description.data = series.title, series.kind, \
        series.description
    form.pattern.data, form.weekdays.data, form.nths.data = pattern.kind, pattern.weekdays, \
        pattern.nths
    form.monthday.data = pattern.monthday
    form.first_date.data, form.start_time.data = local.date(), local.time()
    form.ends_on.data = series.ends_on
    form.end_time.data = (local + timedelta(minutes=series.duration_minutes)).time()
    form.capacity.data, form.fee_basis.data = series.capacity, series.fee_basis
    form.venue_id.data = series.venue_id or 0
    form.signup_opens_days_before.data = series.signup_opens_days_before
    form.signup_closes_hours_before.data = series.signup_closes_hours_before
    form.publish.data = series.status == EventStatus.published
    _fill_fees(form, series.fee_template or [])
