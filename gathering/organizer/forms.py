"""Organizer forms: events, series and the fee table. Shape only; rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from gathering.events.models import KIND_LABELS, FeeBasis
from gathering.japanese import search_key


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FeeRowForm(Form):
    class Meta:
        def get_translations(self, form):
            """WTForms' own messages ("Not a valid integer value.") in the page's language,
            as FlaskForm gives them: a subform is a plain Form and would speak English."""
            return wtforms_translations

    code = HiddenField()
    label = StringField(_l("Fee name"), validators=[Optional(), Length(max=60)])
    amount = IntegerField(_l("Amount (yen)"), validators=[
        Optional(), NumberRange(min=0, max=1_000_000,
                                message=_l("Enter a whole number of yen."))])

    def validate(self, extra_validators=None) -> bool:
        """A named fee needs its amount: left blank it is not "free", it is forgotten."""
        if not super().validate(extra_validators):
            return False
        if self.amount.data is None and (self.label.data or "").strip():
            self.amount.errors.append(_l("Enter the amount, 0 if it is free."))
            return False
        return True


def kind_choices():
    return [SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]


FEE_BASIS_CHOICES = [
    SelectChoice(FeeBasis.attended.value, _l("Only people who came pay")),
    SelectChoice(FeeBasis.registered.value, _l("Everyone registered pays")),
]


class _CommonFields(FlaskForm):
    #: a new form's own key: the same form sent twice (a double tap, a resend) creates once
    form_key = HiddenField()
    branch_id = SelectField(_l("Group"), coerce=int)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=kind_choices, validators=[DataRequired()])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Length(max=20_000)])
    #: empty is no limit; 0 would be an event shown open that nobody can join
    capacity = IntegerField(_l("Seats (people; leave empty for no limit)"), validators=[
        Optional(),
        NumberRange(min=1, message=_l("Seats must be at least 1. For no limit, leave the "
                                      "seats empty.")),
        NumberRange(max=100_000)])
    fee_basis = SelectField(_l("Who pays"), choices=FEE_BASIS_CHOICES)
    venue_id = SelectField(_l("Venue"), coerce=int)
    venue_name = StringField(_l("New venue: name"), validators=[Optional(), Length(max=200)])
    venue_postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    venue_address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    venue_access_notes = TextAreaField(_l("Access"), validators=[Optional(), Length(max=2000)])
    venue_accessibility_notes = TextAreaField(
        _l("Accessibility"), validators=[Optional(), Length(max=2000)])
    venue_map_url = StringField(_l("Map link"), validators=[Optional(), Length(max=500)])
    fees = FieldList(FormField(FeeRowForm), min_entries=4, max_entries=8)

    def venue_data(self) -> dict:
        if self.venue_id.data:
            return {"venue_id": self.venue_id.data}
        if not (self.venue_name.data or "").strip():
            return {}
        return {"venue": {
            "name": self.venue_name.data, "postal_code": self.venue_postal_code.data,
            "address": self.venue_address.data, "access_notes": self.venue_access_notes.data,
            "accessibility_notes": self.venue_accessibility_notes.data,
            "map_url": self.venue_map_url.data}}

    def fee_data(self, existing=()) -> list[dict]:
        """The fee rows typed, each with the code of the category it names.

        A row carries its category's code in a hidden field, so the code belongs to the
        row's place, not to what is typed in it: an organizer who retypes the rows in
        another order (おとな first, then こども) would rename each category into the other,
        and every person signed up would silently change fee. A row named as one of the
        ``existing`` categories (kana and width aside) is that category; a row with a new
        name keeps its row's code if no such row took it, or gets a new one.
        """
        rows = []
        for i, row in enumerate(self.fees.entries):
            label = (row.form.label.data or "").strip()
            if not label:
                continue
            rows.append({"code": row.form.code.data or f"fee{i + 1}", "label": label,
                         "amount": row.form.amount.data or 0})
        by_name = {search_key(fee["label"]): fee["code"] for fee in existing}
        named = []
        for row in rows:
            code = by_name.get(search_key(row["label"]))
            named.append(code if code not in named else None)
        taken = {row["code"] for row in rows} | {fee["code"] for fee in existing}
        for row, code in zip(rows, named, strict=True):
            if code is None and row["code"] in named:  # its row's code went with its name
                code = next(f"fee{n}" for n in range(1, len(taken) + 2)
                            if f"fee{n}" not in taken)
                taken.add(code)
            row["code"] = code or row["code"]
        return rows


class EventForm(_CommonFields):
    #: the event as the form was filled from it (its updated_at): a save from a page opened
    #: before someone else's save would silently undo theirs
    version = HiddenField()
    starts_at = DateTimeLocalField(_l("Starts"), validators=[InputRequired()],
                                   format="%Y-%m-%dT%H:%M")
    ends_at = DateTimeLocalField(_l("Ends"), validators=[InputRequired()],
                                 format="%Y-%m-%dT%H:%M")
    signup_opens_at = DateTimeLocalField(_l("Sign-up opens (empty: now)"),
                                         validators=[Optional()], format="%Y-%m-%dT%H:%M")
    signup_closes_at = DateTimeLocalField(_l("Sign-up closes (empty: at the start)"),
                                          validators=[Optional()], format="%Y-%m-%dT%H:%M")
    publish = BooleanField(_l("Publish now"))
    #: asked only when an edit moves an event that is not over yet into the past
    confirm = BooleanField(_l("Yes, this date is right: save it although it is already over"))


WEEKDAY_CHOICES = [
    SelectChoice(0, _l("Monday")), SelectChoice(1, _l("Tuesday")),
    SelectChoice(2, _l("Wednesday")), SelectChoice(3, _l("Thursday")),
    SelectChoice(4, _l("Friday")), SelectChoice(5, _l("Saturday")),
    SelectChoice(6, _l("Sunday")),
]
NTH_CHOICES = [SelectChoice(1, _l("1st")), SelectChoice(2, _l("2nd")),
               SelectChoice(3, _l("3rd")), SelectChoice(4, _l("4th")),
               SelectChoice(5, _l("5th")), SelectChoice(-1, _l("Last"))]
PATTERN_CHOICES = [
    SelectChoice("monthly_nth", _l("Every month, on given weeks (e.g. 2nd and 4th Saturday)")),
    SelectChoice("weekly", _l("Every week")),
    SelectChoice("monthly_day", _l("Every month on a date (e.g. the 15th)")),
]


class SeriesForm(_CommonFields):
    pattern = RadioField(_l("Repeats"), choices=PATTERN_CHOICES, default="monthly_nth",
                         validators=[DataRequired()])
    weekdays = MultiCheckboxField(_l("Weekday"), choices=WEEKDAY_CHOICES, coerce=int)
    nths = MultiCheckboxField(_l("Week of the month"), choices=NTH_CHOICES, coerce=int)
    monthday = IntegerField(_l("Day of the month"),
                            validators=[Optional(), NumberRange(min=1, max=31)])
    first_date = DateField(_l("First date"), validators=[InputRequired()])
    #: 最終日: no date after this day (e.g. the end of the 年度); empty: the series goes on
    ends_on = DateField(_l("Last date (empty: no end)"), validators=[Optional()])
    start_time = TimeField(_l("Start time"), validators=[InputRequired()])
    end_time = TimeField(_l("End time"), validators=[InputRequired()])
    signup_opens_days_before = IntegerField(
        _l("Sign-up opens this many days before (empty: at once)"),
        validators=[Optional(), NumberRange(min=0, max=365)])
    signup_closes_hours_before = IntegerField(
        _l("Sign-up closes this many hours before the start"),
        validators=[Optional(), NumberRange(min=0, max=1440)], default=0)
    publish = BooleanField(_l("Publish the occurrences"))
    confirm = BooleanField(_l("Yes, also change occurrences that already have sign-ups"))


class ConfirmForm(FlaskForm):
    """A POST button: CSRF only."""
