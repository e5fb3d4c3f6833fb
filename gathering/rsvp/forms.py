"""Sign-up forms. Shape only: the rules (kana, phone, consent, categories, capacity) live in
rsvp.services.clean_signup, whose field errors are put back next to these fields."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from gathering.i18n import current_lang
from gathering.rsvp import allergens as data
from gathering.security import new_token


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        """Unknown codes are refused by the service, with its message."""


class PersonForm(Form):
    id = HiddenField()
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    name = StringField(_l("Name (optional)"), render_kw={"autocomplete": "off"})
    allergens = MultiCheckboxField(_l("Food allergies"), choices=[])
    diets = MultiCheckboxField(_l("Diet"), choices=[])
    note = TextAreaField(_l("Other notes for the kitchen"), render_kw={"rows": 2})


class SignupForm(FlaskForm):
    family_name = StringField(_l("Family name (姓)"),
                              render_kw={"autocomplete": "family-name"})
    given_name = StringField(_l("Given name (名)"), render_kw={"autocomplete": "given-name"})
    family_name_kana = StringField(_l("Family name in kana (セイ)"))
    given_name_kana = StringField(_l("Given name in kana (メイ)"))
    phone = StringField(_l("Phone"), render_kw={"type": "tel", "autocomplete": "tel",
                                                "inputmode": "tel"})
    email = StringField(_l("E-mail"), render_kw={"type": "email", "autocomplete": "email",
                                                 "inputmode": "email"})
    attendees = FieldList(FormField(PersonForm), min_entries=1)
    consent = BooleanField(_l("I agree that the organizers keep the allergy and diet "
                              "information above to serve safe food on the day."))
    message = TextAreaField(_l("Message to the organizers (optional)"), render_kw={"rows": 3})
    idempotency_key = HiddenField()
    #: a honeypot: hidden from people, bots fill it in
    homepage = StringField(_l("Leave this empty"), validators=[Optional()],
                           render_kw={"autocomplete": "off", "tabindex": "-1"})


def _prepare_person(entry, event) -> None:
    lang = current_lang()
    person = entry.form
    fees = list(event.fees)
    choices = [(f.code, f"{f.label} ({_fee_text(f.amount)})") for f in fees]
    if len(fees) > 1:
        choices.insert(0, ("", str(_l("Choose…"))))
    person.category.choices = choices
    person.allergens.choices = [(a.code, a.label(lang)) for a in data.ALLERGENS]
    person.diets.choices = [(d.code, d.label(lang)) for d in data.DIETS]


def _fee_text(amount: int) -> str:
    from gathering.formatting import format_yen

    return str(_l("free")) if amount == 0 else format_yen(amount, current_lang())


#: the registration's own columns an edit form starts from
_CONTACT = ("family_name", "given_name", "family_name_kana", "given_name_kana", "phone",
            "email", "message")


def build_signup_form(event, formdata=None, registration=None) -> SignupForm:
    """The sign-up form of an event (or the edit form of a registration), its choices set.

    ``formdata=None`` means a fresh form (GET); for POST pass request.form.
    """
    kwargs = {}
    if formdata is None and registration is not None:
        # data, not obj: the form's people are the party's active ones, each with its
        # category's code (WTForms would take obj.attendees, cancelled people included)
        kwargs["data"] = {name: getattr(registration, name) for name in _CONTACT} | {
            "attendees": [
                {"id": str(a.id), "category": a.fee_category.code if a.fee_category else "",
                 "name": a.name, "allergens": list(a.allergens or []),
                 "diets": list(a.diets or []), "note": a.note}
                for a in registration.active_attendees]}
    form = SignupForm(formdata=formdata, **kwargs) if formdata is not None else SignupForm(
        formdata=None, **kwargs)
    limit = current_app.config["MAX_PARTY_SIZE"]
    while len(form.attendees.entries) > limit:
        form.attendees.pop_entry()
    if formdata is None and registration is None:
        form.idempotency_key.data = new_token()
    if registration is not None and formdata is None:
        form.consent.data = registration.consent_at is not None
    for entry in form.attendees:
        _prepare_person(entry, event)
    form.event = event
    form.max_party_size = limit
    form.has_field_errors = False
    #: errors about the whole party (too many people for the event), by the people section
    form.party_errors = []
    #: a refused sign-up of a party already signed up: {"message", "url", "link", "hint"}
    form.conflict = None
    form.mandatory_codes = {a.code for a in data.ALLERGENS if a.mandatory}
    return form


def add_person(form) -> None:
    if len(form.attendees.entries) < form.max_party_size:
        entry = form.attendees.append_entry()
        _prepare_person(entry, form.event)
        form.focus_row = len(form.attendees.entries) - 1  # the page scrolls to the new row


def row_index(text: str) -> int:
    """A row number the form sent (a button's value, a hidden id): -1 unless plain ASCII
    digits (``str.isdigit`` also takes "²" or "١", which ``int`` then refuses)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1


def remove_person(form, index: int) -> None:
    entries = form.attendees.entries
    if 0 <= index < len(entries) and len(entries) > 1:
        entries.pop(index)


def to_payload(form) -> dict:
    """The form as the service's sign-up dict (the API's shape): every row on the form is a
    person, whatever the number of fee categories.

    A row left empty is not dropped: names are optional, so with one category (chosen for
    the parent) an empty row is a child to count, and with several it is most likely a
    person whose 区分 was forgotten, which the service asks for next to the row (and the row
    has its own Remove button). The page and the confirmation say how many people that is.
    """
    rows = [e.form for e in form.attendees]
    people = []
    for r in rows:
        person = {"category": r.category.data or None, "name": r.name.data or "",
                  "allergens": list(r.allergens.data or []), "diets": list(r.diets.data or []),
                  "note": r.note.data or ""}
        if r.id.data:
            person["id"] = row_index(r.id.data)
        people.append(person)
    form.attendees_in_payload = rows
    return {
        "contact": {k: getattr(form, k).data or "" for k in (
            "family_name", "given_name", "family_name_kana", "given_name_kana", "phone",
            "email")},
        "attendees": people,
        "consent": bool(form.consent.data),
        "message": form.message.data or "",
    }


def apply_errors(form, fields: dict) -> None:
    """Put the service's field errors (``contact.phone``, ``attendees.1.category``) next to
    the fields they belong to; the rest go to the form's own error list."""
    rows = getattr(form, "attendees_in_payload", [e.form for e in form.attendees])
    form_errors = list(form.form_errors)
    form.has_field_errors = bool(fields)
    for key, messages in fields.items():
        texts = [str(m) for m in messages]
        parts = key.split(".")
        target = None
        if key == "attendees":  # about the party as a whole: shown on the people section
            form.party_errors = [*form.party_errors, *texts]
            continue
        if parts[0] == "contact" and len(parts) == 2:
            target = getattr(form, parts[1], None)
        elif parts[0] in ("consent", "message"):
            target = getattr(form, parts[0])
        elif parts[0] == "attendees" and len(parts) >= 2 and parts[1].isdigit():
            i = int(parts[1])
            if i < len(rows):
                if len(parts) == 3 and parts[2] in ("category", "name", "allergens",
                                                    "diets", "note"):
                    target = getattr(rows[i], parts[2])
                else:
                    rows[i].form_errors.extend(texts)
                    continue
        if target is None:
            form_errors.extend(texts)
            continue
        target.errors = [*list(target.errors or []), *texts]
    form.form_errors = form_errors


class LostLinkForm(FlaskForm):
    email = StringField(_l("The e-mail address you signed up with"),
                        render_kw={"type": "email", "autocomplete": "email"})


class CancelForm(FlaskForm):
    attendee_ids = SelectMultipleField(_l("Who cannot come"), choices=[], coerce=int,
                                       validate_choice=False)
