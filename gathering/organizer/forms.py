"""Organizer forms: events, series and the fee table. Shape only; rules live in services."""

from __future__ import annotations

import re

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
    StopValidation,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from gathering.events.models import KIND_LABELS, FeeBasis
from gathering.events.services import MAX_FEES
from gathering.japanese import normalize_text, search_key


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


#: 1,000 and 12,345,678 (digit groups), not 1,0,0
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_WHOLE = re.compile(r"-?[0-9]{1,12}")
#: what a field says of text it cannot read, in words an organizer uses (WTForms' own
#: "Not a valid integer value." / "datetime value" speak of types)
_NOT_A_NUMBER = _l("Enter a whole number in digits, for example 40.")
_NOT_A_MOMENT = _l("Enter a date and time, for example 2027-04-10 11:00.")
_NOT_A_DATE = _l("Enter a date, for example 2027-04-10.")
_NOT_A_TIME = _l("Enter a time, for example 11:00.")
_NOT_YEN = _l("Enter a whole number of yen.")
#: the browser's own value first (what the page is filled with), then what a text box
#: typed by hand on an old phone may hold
_MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"]
_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]


class WholeNumberField(IntegerField):
    """A whole number as people type it, in a text box that opens the number keypad.

    Not ``<input type="number">``: a browser sends what it cannot read as a number (50名,
    1,000: Firefox and Safari let it be typed) as an empty value, and the forms are
    ``novalidate``, so nobody is told; an empty 定員 would then be "no limit", an empty fee
    "forgotten". Read here instead: full-width digits, digit groups (1,000) and the field's
    unit (300円, ¥300, 50名). What is still no number gets one message, the text kept as
    typed, without the range checks' messages added to it (a range says nothing about
    text that is no number)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, *, prefixes=(), suffixes=(),
                 invalid_value_message=None, **kwargs):
        super().__init__(label, validators, invalid_value_message=invalid_value_message,
                         **kwargs)
        self.prefixes, self.suffixes = prefixes, suffixes

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = "".join(normalize_text(valuelist[0]).split())  # NFKC: ５０ → 50, ￥ → ¥
        if not text:  # left empty: Optional() decides
            self.data = None
            return
        text = next((text[len(p):] for p in self.prefixes if text.startswith(p)), text)
        text = next((text[:-len(s)] for s in self.suffixes if text.endswith(s)), text)
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")
        if not _WHOLE.fullmatch(text):
            self.data = None
            raise ValueError(str(self.invalid_value_message or _NOT_A_NUMBER))
        self.data = int(text)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class FeeRowForm(Form):
    class Meta:
        def get_translations(self, form):
            """WTForms' own messages ("Not a valid integer value.") in the page's language,
            as FlaskForm gives them: a subform is a plain Form and would speak English."""
            return wtforms_translations

    code = HiddenField()
    label = StringField(_l("Fee name"), validators=[Optional(), Length(max=60)])
    amount = WholeNumberField(_l("Amount (yen)"), validators=[
        Optional(), NumberRange(min=0, max=1_000_000,
                                message=_NOT_YEN)],
        prefixes=("¥", "\\"), suffixes=("円",),
        invalid_value_message=_NOT_YEN)

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
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")),
                                                 Length(max=200)])
    kind = SelectField(_l("Kind"), choices=kind_choices,
                       validators=[DataRequired(_l("Choose a kind."))])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Length(max=20_000)])
    #: empty is no limit; 0 would be an event shown open that nobody can join
    capacity = WholeNumberField(_l("Seats (people; leave empty for no limit)"),
                                suffixes=("名", "人"), validators=[
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
    #: as many rows as a fee table may have (the API's limit): an edit must show them all
    fees = FieldList(FormField(FeeRowForm), min_entries=4, max_entries=MAX_FEES)

    def venue_data(self, *, placeless: bool = False) -> dict:
        """The venue chosen or typed; {} for none new (an edit keeps the venue it has).

        ``placeless``: the event or series has no venue yet (a new one, say). Then an
        address typed without the venue's name is a venue whose name was forgotten, not
        no venue: it goes to the service, which asks for the name by the field, where
        dropping it would save the event without a place and tell nobody."""
        if self.venue_id.data:
            return {"venue_id": self.venue_id.data}
        typed = (self.venue_name, self.venue_postal_code, self.venue_address,
                 self.venue_access_notes, self.venue_accessibility_notes, self.venue_map_url)
        if not (self.venue_name.data or "").strip() and not (
                placeless and any((f.data or "").strip() for f in typed)):
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


class MomentField(DateTimeLocalField):
    """A date and time: the picker's value, or what a plain text box on an old phone holds
    (2027/04/10 11:00), told in words when it is neither."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=_MOMENT_FORMATS,
                         invalid_value_message=_NOT_A_MOMENT, **kwargs)


class DayField(DateField):
    """A date, as the picker sends it or typed with slashes (2027/04/10)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=_DATE_FORMATS,
                         invalid_value_message=_NOT_A_DATE, **kwargs)


class EventForm(_CommonFields):
    #: the event as the form was filled from it (its updated_at): a save from a page opened
    #: before someone else's save would silently undo theirs
    version = HiddenField()
    starts_at = MomentField(_l("Starts"), [InputRequired(_l("Enter when it starts."))])
    ends_at = MomentField(_l("Ends"), [InputRequired(_l("Enter when it ends."))])
    signup_opens_at = MomentField(_l("Sign-up opens (empty: now)"), [Optional()])
    signup_closes_at = MomentField(_l("Sign-up closes (empty: at the start)"), [Optional()])
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
                         validators=[DataRequired(_l("Choose how it repeats."))])
    weekdays = MultiCheckboxField(_l("Weekday"), choices=WEEKDAY_CHOICES, coerce=int)
    nths = MultiCheckboxField(_l("Week of the month"), choices=NTH_CHOICES, coerce=int)
    monthday = WholeNumberField(_l("Day of the month"), suffixes=("日",),
                                validators=[Optional(), NumberRange(min=1, max=31)])
    first_date = DayField(_l("First date"), [InputRequired(_l("Enter the first date."))])
    #: 最終日: no date after this day (e.g. the end of the 年度); empty: the series goes on
    ends_on = DayField(_l("Last date (empty: no end)"), [Optional()])
    start_time = TimeField(_l("Start time"),
                           validators=[InputRequired(_l("Enter the start time."))],
                           invalid_value_message=_NOT_A_TIME)
    end_time = TimeField(_l("End time"), validators=[InputRequired(_l("Enter the end time."))],
                         invalid_value_message=_NOT_A_TIME)
    signup_opens_days_before = WholeNumberField(
        _l("Sign-up opens this many days before (empty: at once)"), suffixes=("日前", "日"),
        validators=[Optional(), NumberRange(min=0, max=365)])
    signup_closes_hours_before = WholeNumberField(
        _l("Sign-up closes this many hours before the start"), suffixes=("時間前", "時間"),
        validators=[Optional(), NumberRange(min=0, max=1440)], default=0)
    publish = BooleanField(_l("Publish the occurrences"))
    confirm = BooleanField(_l("Yes, also change occurrences that already have sign-ups"))


class ConfirmForm(FlaskForm):
    """A POST button: CSRF only."""
