"""Sign-up rules: registering, the waiting list, changes and cancellations.

Plain functions over a session: they flush and never commit (the view or API commits once).
Capacity is only ever changed through events.services.take_seats/release_seats while the
event row is locked (lock_event), so it holds under any concurrency on SQLite and PostgreSQL.
Refusals raise GatheringError subclasses with stable codes:

- ``signup_not_open``, ``signup_closed``, ``event_cancelled``, ``event_over`` (409)
- ``invalid`` with ``fields`` (422), ``party_too_large`` (422)
- ``idempotency_key_reused`` (409): the key came with another party's data
- ``already_sent`` (409): the key came again from the same party with other data (a form
  sent, then changed and sent again): nothing changes; ``details["manage_token"]`` is the
  first sign-up's manage token when it can be derived (the same form sent it: showing it
  reveals nothing new)
- ``already_registered`` (409): the same party (name, and phone or e-mail) is already signed
  up for the event under another key: nothing is stored and nothing about it is revealed
- ``already_cancelled``, ``checked_in``, ``not_enough_seats`` (409)
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from gathering.checkin import services as checkin
from gathering.errors import Conflict, NotFound, ValidationFailed
from gathering.events import services as events
from gathering.events.models import Event
from gathering.japanese import (
    format_phone,
    is_katakana,
    is_latin_name,
    is_valid_phone,
    normalize_name,
    normalize_phone,
    normalize_text,
    search_key,
    to_katakana,
)
from gathering.rsvp import allergens as data
from gathering.rsvp.models import Attendee, Registration, RegistrationStatus
from gathering.security import matches, new_token, token_hash

MAX_NAME = 60
MAX_PERSON_NAME = 120
MAX_NOTE = 500
MAX_MESSAGE = 2000
MAX_KEY = 100


@dataclass
class SignupResult:
    """What ``register`` did. ``manage_token`` is the secret of the manage link (/r/<token>);
    it is not stored, only its hash. ``replayed``: the idempotency key had been seen, nothing
    new was created and this is the first registration. ``seats_left``: for a party put on
    the waiting list, the seats that were left (0: the event was full; more: too few for the
    whole party); None otherwise."""

    registration: Registration
    manage_token: str
    replayed: bool = False
    seats_left: int | None = None

    @property
    def status(self) -> str:
        return self.registration.status


@dataclass
class Change:
    """What a change or cancellation did: the parties promoted from the waiting list, and
    whether anything of the party changed (a form saved as it was changes nothing)."""

    registration: Registration
    promoted: list[Registration] = field(default_factory=list)
    changed: bool = True


# ---------------------------------------------------------------------------------------
# Manage tokens: random per registration, stored hashed, derivable again with SECRET_KEY so
# a double tap or a promotion mail can show the same link without storing the secret.


def _secret(secret: str | None) -> bytes:
    return (secret or current_app.config["SECRET_KEY"]).encode("utf-8")


def derive_manage_token(event_id: int, key: str, *, secret: str | None = None) -> str:
    """The manage token of (event, idempotency key): HMAC-SHA256, 256 bits, URL-safe."""
    digest = hmac.new(_secret(secret), f"tsudoi-manage:{event_id}:{key}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def manage_token_for(reg: Registration, *, secret: str | None = None) -> str | None:
    """The registration's current manage token, or None if it cannot be derived (made
    elsewhere, or SECRET_KEY changed and the old key is not in SECRET_KEY_FALLBACKS): then
    ``reissue_manage_token``."""
    if not reg.idempotency_key:
        return None
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or ()
    keys = [secret] if secret else [None, *fallbacks]
    for candidate in keys:
        token = derive_manage_token(reg.event_id, reg.idempotency_key, secret=candidate)
        if matches(token, reg.manage_token_hash):
            return token
    return None


def reissue_manage_token(reg: Registration, *, secret: str | None = None) -> str:
    """A working manage token for the registration; an old link stops working only if it
    could not be derived any more."""
    token = manage_token_for(reg, secret=secret)
    if token:
        return token
    if not reg.idempotency_key:
        reg.idempotency_key = new_token()
    token = derive_manage_token(reg.event_id, reg.idempotency_key, secret=secret)
    reg.manage_token_hash = token_hash(token)
    return token


def get_registration_by_manage_token(session, token: str, *, event_id: int | None = None
                                     ) -> Registration:
    """The registration a secret manage link belongs to. Raises NotFound (nothing revealed).

    Only the token's hash is stored; the lookup is by hash, so no timing reveals a prefix.
    With ``event_id``, a token of another event's registration is refused too.
    """
    if not isinstance(token, str) or not token or len(token) > 100:
        raise NotFound(_l("This link is not valid."))
    reg = session.scalar(sa.select(Registration).where(
        Registration.manage_token_hash == token_hash(token)))
    if reg is None or (event_id is not None and reg.event_id != event_id):
        raise NotFound(_l("This link is not valid."))
    return reg


def get_registration_for_user(session, registration_id: int, user) -> Registration:
    """A registration the user may see (organizers of its branch, admins). Raises
    NotFound or Forbidden."""
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound()
    events.get_event_for_user(session, reg.event_id, user)
    return reg


# ---------------------------------------------------------------------------------------
# Cleaning what people typed (shared by the form and the API)


def _str(value, key: str, errors: dict, max_len: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(key, []).append(_l("Enter text."))
        return ""
    if len(value) > max_len * 4:
        errors.setdefault(key, []).append(_l("This is too long (at most %(n)d characters).",
                                             n=max_len))
        return ""
    return value


def _limit(text: str, key: str, errors: dict, max_len: int) -> str:
    if len(text) > max_len:
        errors.setdefault(key, []).append(_l("This is too long (at most %(n)d characters).",
                                             n=max_len))
    return text


def _kana(value, key: str, errors: dict, required: bool) -> str:
    kana = _limit(to_katakana(_str(value, key, errors, MAX_NAME)), key, errors, MAX_NAME)
    if not kana:
        if required and key not in errors:  # one message: "too long" already said it
            errors.setdefault(key, []).append(_l("Enter the reading in kana (フリガナ)."))
        return ""
    if not is_katakana(kana):
        errors.setdefault(key, []).append(_l("Write the reading in hiragana or katakana."))
    return kana


def _codes(value, key: str, errors: dict, allowed: frozenset) -> list[str]:
    if value is None or value == "":
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.setdefault(key, []).append(_l("Choose from the list."))
        return []
    unknown = [v for v in value if v not in allowed]
    if unknown:
        errors.setdefault(key, []).append(_l("Unknown choice: %(codes)s",
                                             codes=", ".join(unknown[:5])[:100]))
        return []
    return data.ordered(value)


def clean_email(value, key: str = "contact.email", errors: dict | None = None) -> str:
    errors = {} if errors is None else errors
    text = normalize_text(_str(value, key, errors, 254))
    if not text:
        return ""
    try:
        # in lower case whole: phones capitalise the first letter (Anna@example.jp), and
        # the same family sent again must be found (mail servers read it either way)
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        carrier = _carrier_address(text)
        if carrier:
            return carrier
        errors.setdefault(key, []).append(_l("Enter an e-mail address like name@example.jp."))
        return text


def _carrier_address(text: str) -> str:
    """An address of the kind Japanese mobile carriers (docomo, au) handed out until 2009,
    with dots twice in a row or just before the @ (taro..yamada@docomo.ne.jp,
    hanako.@ezweb.ne.jp): outside RFC 5322, yet still in use on old phones and delivered
    by mail servers. Accepted as typed (in lower case) when it is a valid address with
    those dots tidied; "" otherwise."""
    local, at, domain = text.rpartition("@")
    if not at or "." not in local or '"' in local:
        return ""
    tidied = re.sub(r"\.{2,}", ".", local).strip(".")
    if not tidied:
        return ""
    try:
        checked = validate_email(f"{tidied}@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return ""
    return f"{local}@{checked.domain}".lower()


def clean_signup(event: Event, raw: dict, *, max_party_size: int,
                 require_contact: bool = True, existing_ids: set[int] | None = None) -> dict:
    """Check and normalise a sign-up (the API's shape, see API.md). Returns the cleaned
    dict; raises ValidationFailed with messages keyed like ``contact.phone`` or
    ``attendees.0.category``."""
    errors: dict = {}
    if not isinstance(raw, dict):
        raise ValidationFailed(fields={"contact": [_l("Send the sign-up as an object.")]})
    contact = raw.get("contact") or {}
    if not isinstance(contact, dict):
        errors["contact"] = [_l("Send the contact as an object.")]
        contact = {}

    family = _limit(normalize_name(_str(contact.get("family_name"), "contact.family_name",
                                        errors, MAX_NAME)),
                    "contact.family_name", errors, MAX_NAME)
    given = _limit(normalize_name(_str(contact.get("given_name"), "contact.given_name",
                                       errors, MAX_NAME)),
                   "contact.given_name", errors, MAX_NAME)
    if not family and require_contact and "contact.family_name" not in errors:
        errors.setdefault("contact.family_name", []).append(_l("Enter your family name."))
    latin = is_latin_name(family) and (not given or is_latin_name(given))
    kana_needed = require_contact and bool(family) and not latin
    family_kana = _kana(contact.get("family_name_kana"), "contact.family_name_kana", errors,
                        kana_needed)
    given_kana = _kana(contact.get("given_name_kana"), "contact.given_name_kana", errors,
                       kana_needed and bool(given))

    phone = normalize_phone(_str(contact.get("phone"), "contact.phone", errors, 30))
    if phone and not is_valid_phone(phone):
        errors.setdefault("contact.phone", []).append(
            _l("Enter a Japanese phone number like 090-1234-5678."))
    email = clean_email(contact.get("email"), "contact.email", errors)
    if require_contact and not phone and not email and "contact.phone" not in errors \
            and "contact.email" not in errors:
        errors.setdefault("contact.phone", []).append(
            _l("Enter a phone number or an e-mail address, so we can reach you."))

    people = raw.get("attendees")
    cleaned_people: list[dict] = []
    fees = {f.code: f for f in event.fees}
    if not isinstance(people, list) or not people:
        errors.setdefault("attendees", []).append(_l("Add at least one person."))
        people = []
    elif len(people) > max_party_size:
        errors.setdefault("attendees", []).append(
            lazy_ngettext("At most %(num)d person can sign up together.",
                          "At most %(num)d people can sign up together.", max_party_size))
        people = []
    seen_ids: set[int] = set()
    for i, person in enumerate(people):
        p = f"attendees.{i}"
        if not isinstance(person, dict):
            errors.setdefault(p, []).append(_l("Send each person as an object."))
            continue
        code = person.get("category")
        category = None
        if fees:
            if not isinstance(code, str) or code not in fees:
                errors.setdefault(f"{p}.category", []).append(_l("Choose a category."))
            else:
                category = fees[code]
        elif code not in (None, ""):
            errors.setdefault(f"{p}.category", []).append(_l("Choose a category."))
        attendee_id = person.get("id")
        if attendee_id is not None:
            if (isinstance(attendee_id, bool) or not isinstance(attendee_id, int)
                    or attendee_id not in (existing_ids or set()) or attendee_id in seen_ids):
                errors.setdefault(p, []).append(_l("This person is not part of this sign-up."))
                attendee_id = None
            else:
                seen_ids.add(attendee_id)
        name = _limit(normalize_name(_str(person.get("name"), f"{p}.name", errors,
                                          MAX_PERSON_NAME)), f"{p}.name", errors,
                      MAX_PERSON_NAME)
        note = _limit(normalize_text(_str(person.get("note"), f"{p}.note", errors, MAX_NOTE)),
                      f"{p}.note", errors, MAX_NOTE)
        cleaned_people.append({
            "id": attendee_id,
            "category": category,
            "name": name,
            "allergens": _codes(person.get("allergens"), f"{p}.allergens", errors,
                                data.ALLERGEN_CODES),
            "diets": _codes(person.get("diets"), f"{p}.diets", errors, data.DIET_CODES),
            "note": note,
        })

    sensitive = any(p["allergens"] or p["diets"] or p["note"] for p in cleaned_people)
    consent = raw.get("consent")
    if consent not in (None, True, False):
        errors.setdefault("consent", []).append(_l("Answer yes or no."))
        consent = False
    if sensitive and consent is not True:
        errors.setdefault("consent", []).append(
            _l("To keep allergy and diet information, please agree to how we use it."))
    message = _limit(normalize_text(_str(raw.get("message"), "message", errors, MAX_MESSAGE)),
                     "message", errors, MAX_MESSAGE)
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "family_name": family, "given_name": given,
        "family_name_kana": family_kana, "given_name_kana": given_kana,
        "phone": phone, "email": email, "message": message,
        "attendees": cleaned_people, "consent": bool(consent) and sensitive,
    }


# ---------------------------------------------------------------------------------------
# Registering


def _check_window(event: Event, now: datetime, *, walk_in: bool = False) -> None:
    state = events.signup_state(event, now)
    if state == "open":
        return
    if state == "draft":
        raise NotFound(_l("This event does not exist."))
    if state == "cancelled":
        raise Conflict(_l("This event is cancelled. Sign-up is closed."), code="event_cancelled")
    if walk_in and state in ("not_yet", "closed"):
        return  # the door admits walk-ins on the day, whatever the online window says
    if state == "not_yet":
        raise Conflict(_l("Sign-up has not opened yet."), code="signup_not_open")
    raise Conflict(_l("Sign-up is closed."), code="signup_closed")


def register(session, event: Event, raw: dict, *, now: datetime,
             idempotency_key: str | None = None, max_party_size: int = 10,
             is_walk_in: bool = False, allow_overbook: bool = False,
             secret: str | None = None, lang: str = "ja") -> SignupResult:
    """Sign a party up for an event, in the caller's transaction.

    ``raw`` is the API's sign-up object (API.md): ``{"contact": {family_name, given_name,
    family_name_kana, given_name_kana, phone, email}, "attendees": [{category, name,
    allergens, diets, note}], "consent": bool, "message": str}``. It is cleaned here
    (``clean_signup``): raises ValidationFailed (422, ``fields``) for bad input.

    The event row is locked, then the whole party takes seats in one guarded update: it is
    ``confirmed`` if all fit, else ``waitlisted`` (a family is never split). A party larger
    than the event's capacity is refused (``party_too_large``). Outside the sign-up window
    raises Conflict (``signup_not_open``, ``signup_closed``, ``event_cancelled``).

    ``idempotency_key``: the same key again for the same event with the same sign-up
    returns the first registration (``replayed=True``) and creates nothing; from the same
    party with other data (people added, an allergy ticked) it raises Conflict
    ``already_sent`` (nothing changes: changes go through the manage page); with another
    party's data it raises Conflict ``idempotency_key_reused``.

    A party already signed up (the same name, and the same phone or e-mail) under
    another key is refused with Conflict ``already_registered`` (the Back button reloaded
    the page, the form was sent again). Walk-ins are not checked.

    ``lang``: the language of the sign-up, kept for the mails sent later (a promotion).

    Door use: ``is_walk_in=True`` skips the online window and the contact requirement;
    ``allow_overbook=True`` confirms even beyond capacity.

    Returns SignupResult(registration, manage_token, replayed). Flushes, never commits.
    """
    if idempotency_key is not None and (not isinstance(idempotency_key, str)
                                        or not 0 < len(idempotency_key) <= MAX_KEY):
        raise ValidationFailed(fields={"idempotency_key": [
            _l("Send a string of at most %(n)d characters.", n=MAX_KEY)]})
    if events.signup_state(event, now) == "draft":
        raise NotFound(_l("This event does not exist."))
    cleaned = clean_signup(event, raw, max_party_size=max_party_size,
                           require_contact=not is_walk_in)
    event = events.lock_event(session, event.id)

    # One statement for both questions: the sign-up sent before under this key, and the
    # party's active sign-ups under any key (same phone or e-mail; the name is compared here)
    known = list(session.scalars(_SAME_KEY_OR_CONTACT, {
        "event_id": event.id, "key": idempotency_key or None,
        "phone": None if is_walk_in else cleaned["phone"] or None,
        "email": None if is_walk_in else cleaned["email"] or None}))
    existing = next((r for r in known if idempotency_key
                     and r.idempotency_key == idempotency_key), None)
    if existing is not None:
        if not _sent_by_same_party(existing, cleaned):
            raise Conflict(_l("This request key was already used for another sign-up."),
                           code="idempotency_key_reused")
        if existing.status != RegistrationStatus.cancelled and not _same_signup(existing,
                                                                                  cleaned):
            # Back to the form, a child added, sent again: the first sign-up stands and the
            # change must not vanish without a word.
            raise Conflict(
                _l("This sign-up was already sent, and it is done. The changes made since "
                   "were not saved: to change it, open your sign-up and use “Change people "
                   "or allergies”."),
                code="already_sent", manage_token=manage_token_for(existing, secret=secret))
        # the first answer, as the sign-up stands now (cancelled since, it says so: its
        # people are gone, so comparing them would call the same request a changed one)
        return SignupResult(existing, reissue_manage_token(existing, secret=secret),
                            replayed=True)

    _check_window(event, now, walk_in=is_walk_in)
    if not is_walk_in and any(_same_party(r, cleaned) for r in known):
        # The Back button reloaded the page (a new key) and the form went again. Where that
        # sign-up is stays untold: the name and a phone number are no secret.
        raise Conflict(
            _l("You have already signed up for this event with this name and contact. To "
               "make changes, use the link in your confirmation e-mail. If you lost the "
               "link, we can send it to you again."),
            code="already_registered")
    party = len(cleaned["attendees"])
    if not events.fits_in_all(event, party) and not allow_overbook:
        raise _party_too_large(event)

    key = idempotency_key or new_token()
    token = derive_manage_token(event.id, key, secret=secret)
    # Seats first, in the same transaction: the row is then written once, with its status.
    seated = events.take_seats(session, event, party, allow_overbook=allow_overbook)
    # refused, the guarded UPDATE left the locked row as read: the seats left at this moment
    left = None if seated else event.seats_left
    reg = _insert_party(session, event, cleaned, {
        "status": (RegistrationStatus.confirmed if seated
                   else RegistrationStatus.waitlisted).value,
        "manage_token_hash": token_hash(token), "ticket_token": new_token(),
        "feed_token": new_token(), "idempotency_key": key, "is_walk_in": is_walk_in,
        "lang": lang, "consent_at": now if cleaned["consent"] else None,
        "created_at": now, "updated_at": now})
    return SignupResult(reg, token, seats_left=left)


def _party_too_large(event: Event) -> ValidationFailed:
    """The refusal of a party larger than the event's seats in all (``party_too_large``):
    it could never get a seat, so it may not wait for one either."""
    return ValidationFailed(
        lazy_ngettext("This event has %(num)d seat in all; a party this large cannot fit.",
                      "This event has %(num)d seats in all; a party this large cannot "
                      "fit.", event.capacity),
        code="party_too_large",
        # next to the people, as the form's own warning says it before sending
        fields={"attendees": [lazy_ngettext(
            "This event has %(num)d seat in all, so a party larger than that cannot "
            "sign up. Please sign up at most %(num)d person, or contact the organizers.",
            "This event has %(num)d seats in all, so a party larger than that cannot "
            "sign up. Please sign up at most %(num)d people, or contact the organizers.",
            event.capacity)]})


# Built once (every sign-up runs it, under the event's lock). A None parameter matches
# nothing. Each branch of the OR has its own index (the key's unique one, event and phone,
# the address), so the sign-up costs the same whether the event has 10 parties or 10,000.
_EVENT = sa.bindparam("event_id")
_SAME_KEY_OR_CONTACT = sa.select(Registration).where(sa.or_(
    sa.and_(Registration.event_id == _EVENT,
            Registration.idempotency_key == sa.bindparam("key")),
    sa.and_(Registration.event_id == _EVENT, Registration.phone == sa.bindparam("phone")),
    sa.and_(Registration.event_id == _EVENT, Registration.email == sa.bindparam("email"))))


def _name_key(family: str, given: str = "") -> str:
    return search_key(f"{family}{given}")


def _same_contact(reg: Registration, cleaned: dict) -> bool:
    """The same phone or the same e-mail address (given ones only; both as normalised when
    stored: digits, and the address in lower case)."""
    return bool((cleaned["phone"] and reg.phone == cleaned["phone"])
                or (cleaned["email"] and reg.email == cleaned["email"]))


def _sent_by_same_party(reg: Registration, cleaned: dict) -> bool:
    """Whether a form sent again under ``reg``'s key is still ``reg``'s party: the same
    family name and the same phone or e-mail. The key says it is the same page, so a given
    name or one of the contacts corrected since does not make it another party (that would
    sign the family up twice); another family name with other contacts does (the next
    family on a shared phone)."""
    if _name_key(reg.family_name) != _name_key(cleaned["family_name"]):
        return False
    return (reg.phone, reg.email) == (cleaned["phone"], cleaned["email"]) or _same_contact(
        reg, cleaned)


def _same_signup(reg: Registration, cleaned: dict) -> bool:
    """Whether ``cleaned`` is what ``reg`` holds: the exact double tap."""
    if any(getattr(reg, k) != cleaned[k] for k in _CONTACT_FIELDS):
        return False
    stored = [(a.fee_category_id, a.name, list(a.allergens or []), list(a.diets or []),
               a.note) for a in reg.active_attendees]
    sent = [(p["category"].id if p["category"] else None, p["name"], p["allergens"],
             p["diets"], p["note"]) for p in cleaned["attendees"]]
    return stored == sent


def _same_party(reg: Registration, cleaned: dict) -> bool:
    """Whether an active registration is the cleaned sign-up's party signing up again: the
    same name (folded: kana, width, case and spaces aside) and the same phone or e-mail."""
    return (reg.status != RegistrationStatus.cancelled
            and _name_key(reg.family_name, reg.given_name)
            == _name_key(cleaned["family_name"], cleaned["given_name"])
            and _same_contact(reg, cleaned))


def _insert_party(session, event: Event, cleaned: dict, values: dict) -> Registration:
    """INSERT the registration and its people with Core, one statement a table, and hand
    them back as objects in the session with their event, people and fee categories, as a
    flush leaves them. A sign-up is the hottest write there is: the unit of work's flush
    of three objects cost three times these two statements."""
    (reg,) = _insert_rows(session, Registration, [{
        "event_id": event.id, **{k: cleaned[k] for k in _CONTACT_FIELDS}, **values}])
    people = _insert_rows(session, Attendee, [
        {"registration_id": reg.id, **_attendee_values(person, i, values["created_at"])}
        for i, person in enumerate(cleaned["attendees"])], by="position")
    for attendee, person in zip(people, cleaned["attendees"], strict=True):
        set_committed_value(attendee, "fee_category", person["category"])
        set_committed_value(attendee, "registration", reg)
    set_committed_value(reg, "attendees", people)
    set_committed_value(reg, "event", event)
    return reg


def _insert_rows(session, model, rows: list[dict], *, by: str | None = None) -> list:
    """INSERT ``rows`` of ``model`` in one statement; return them as clean persistent
    objects (every column set from the row or its default, so nothing loads again).

    With several rows, their new ids come back with their ``by`` column, unique among them
    (asking for the ids in the rows' order would make SQLite send one statement a row)."""
    table = model.__table__
    full = [{c.key: row[c.key] if c.key in row else _default(c) for c in table.c
             if c.key != "id"} for row in rows]
    ids = {k: id_ for id_, k in session.execute(_insert_returning(model, by), full)}
    if len(ids) != len(full):
        raise ValueError(f"{model.__name__} rows need a unique {by!r} to match their ids")
    objects = []
    for row in full:
        obj = model(id=ids[row[by] if by else None], **row)
        make_transient_to_detached(obj)
        session.add(obj)
        objects.append(obj)
    return objects


@functools.cache
def _insert_returning(model, by: str | None):
    """``_insert_rows``'s statement, built once a model (building it cost as much as
    running it)."""
    table = model.__table__
    return sa.insert(table).returning(table.c.id, table.c[by] if by else sa.null())


def _default(column):
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


_CONTACT_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana",
                   "phone", "email", "message")


def _attendee_values(person: dict, position: int, now: datetime) -> dict:
    """An Attendee's columns from a cleaned person (sign-up's INSERT, an edit's new rows)."""
    category = person["category"]
    return {"position": position, "fee_category_id": category.id if category else None,
            "name": person["name"], "allergens": person["allergens"],
            "diets": person["diets"], "note": person["note"], "created_at": now}


def _attendee(person: dict, position: int, now: datetime) -> Attendee:
    return Attendee(**_attendee_values(person, position, now), fee_category=person["category"])


def amount_expected(reg: Registration) -> int:
    """Yen the party owes if everyone comes (what the door will ask for); fees.amount_due
    is what is owed now."""
    return sum(a.fee_category.amount for a in reg.active_attendees
               if a.fee_category is not None)


# ---------------------------------------------------------------------------------------
# The waiting list, changes and cancellations


def promote_waitlist(session, event: Event, *, now: datetime) -> list[Registration]:
    """Give free seats to waiting parties in order of sign-up: the first party that fits
    whole goes first, and a party that does not fit is skipped, never split. The caller
    holds the event lock (lock_event). Returns the promoted registrations."""
    if event.is_cancelled or event.ends_at <= now:
        return []
    promoted = []
    waiting = session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.waitlisted.value)
        .order_by(Registration.created_at, Registration.id))
    for reg in waiting:
        if event.capacity is not None and event.seats_left == 0:
            break
        size = reg.party_size
        if size and events.take_seats(session, event, size):
            reg.status = RegistrationStatus.confirmed.value
            reg.promoted_at = now
            promoted.append(reg)
    session.flush()
    return promoted


def cancel_registration(session, reg: Registration, *, now: datetime,
                        attendee_ids: list[int] | None = None) -> Change:
    """Cancel a whole party, or some of its people (``attendee_ids``). Seats they held are
    freed and the waiting list moves up (``promote_waitlist``).

    Raises Conflict ``already_cancelled`` (the sign-up, or every one of the people chosen:
    the same cancellation sent twice), ``event_cancelled`` (the organizers called the
    event off: nothing to cancel, and no waiting party may be moved up into it),
    ``event_over`` (after the event), ``checked_in`` (someone already admitted at the
    door), ValidationFailed for ids not of this party.
    """
    event = events.lock_event(session, reg.event_id)
    session.refresh(reg)
    if reg.status == RegistrationStatus.cancelled:
        raise Conflict(_l("This sign-up is already cancelled."), code="already_cancelled")
    if event.is_cancelled:
        raise Conflict(_l("This event is cancelled, so there is nothing to cancel. You do "
                          "not need to do anything."), code="event_cancelled")
    if event.ends_at <= now:
        raise Conflict(_l("This event is over."), code="event_over")
    active = reg.active_attendees
    if attendee_ids is None:
        targets = active
    else:
        by_id = {a.id: a for a in active}
        gone = {a.id for a in reg.attendees if a.cancelled_at is not None}
        if attendee_ids and all(i in gone for i in attendee_ids):
            # the same choice sent again (a double tap, the Back button): it is done
            raise Conflict(_l("The people you chose are already cancelled."),
                           code="already_cancelled")
        if not attendee_ids or any(i not in by_id for i in attendee_ids):
            raise ValidationFailed(fields={"attendee_ids": [
                _l("This person is not part of this sign-up.")]})
        targets = [by_id[i] for i in dict.fromkeys(attendee_ids)]
    if any(a.checked_in_at is not None for a in targets):
        raise Conflict(_l("Someone of this party is already checked in."), code="checked_in")
    for a in targets:
        a.cancelled_at = now
    was_confirmed = reg.status == RegistrationStatus.confirmed
    if len(targets) == len(active):
        reg.status = RegistrationStatus.cancelled.value
        reg.cancelled_at = now
    reg.updated_at = now
    session.flush()
    promoted = []
    if was_confirmed:
        events.release_seats(session, event, len(targets))
        promoted = promote_waitlist(session, event, now=now)
    elif reg.status == RegistrationStatus.waitlisted:
        promoted = promote_waitlist(session, event, now=now)  # a smaller party may fit now
    return Change(reg, promoted)


def update_registration(session, reg: Registration, raw: dict, *, now: datetime,
                        max_party_size: int = 10) -> Change:
    """Change the contact and the people of a registration (the manage page).

    ``raw`` has the sign-up shape; each person kept carries its ``id``; people left out are
    removed, people without an ``id`` are added. A confirmed party that grows needs free
    seats for the newcomers (else Conflict ``not_enough_seats``: nothing changes); one that
    shrinks frees seats and the waiting list moves up. Raises Conflict
    ``already_cancelled``, ``signup_closed`` / ``event_cancelled`` (changes only while
    sign-up is open), ``checked_in`` (removing someone already admitted); ValidationFailed
    ``party_too_large`` when the party grows past the event's seats in all (as a sign-up).
    """
    event = events.lock_event(session, reg.event_id)
    session.refresh(reg)
    if reg.status == RegistrationStatus.cancelled:
        raise Conflict(_l("This sign-up is already cancelled."), code="already_cancelled")
    _check_window(event, now)
    before = _as_told(reg)
    active = {a.id: a for a in reg.active_attendees}
    cleaned = clean_signup(event, raw, max_party_size=max_party_size,
                           existing_ids=set(active))
    kept = {p["id"] for p in cleaned["attendees"] if p["id"] is not None}
    removed = [a for i, a in active.items() if i not in kept]
    added = [p for p in cleaned["attendees"] if p["id"] is None]
    if any(a.checked_in_at is not None for a in removed):
        raise Conflict(_l("Someone of this party is already checked in."), code="checked_in")
    if any(active[p["id"]].checked_in_at is not None
           and active[p["id"]].fee_category_id != (p["category"].id if p["category"] else None)
           for p in cleaned["attendees"] if p["id"] is not None):
        # the door took their fee as it stood: a new category would leave the money and
        # a receipt given out telling another story
        raise Conflict(_l("Someone of this party is already checked in: their fee can no "
                          "longer be changed here. Please ask the organizers at the door."),
                       code="checked_in")
    delta = len(added) - len(removed)
    if delta > 0 and not events.fits_in_all(event, len(cleaned["attendees"])):
        # a waiting party grown past the seats in all would wait for ever ("you move up
        # automatically" would never come true); a confirmed one is told the same
        raise _party_too_large(event)
    if (reg.status == RegistrationStatus.confirmed and delta > 0
            and not events.take_seats(session, event, delta)):
        raise Conflict(
            _l("There are not enough seats for more people. To put the others on the "
               "waiting list, sign them up separately under one of their names."),
            code="not_enough_seats")

    for key in ("family_name", "given_name", "family_name_kana", "given_name_kana",
                "phone", "email", "message"):
        setattr(reg, key, cleaned[key])
    if cleaned["consent"] and reg.consent_at is None:
        reg.consent_at = now
    position = max((a.position for a in reg.attendees), default=-1) + 1
    for person in cleaned["attendees"]:
        if person["id"] is None:
            reg.attendees.append(_attendee(person, position, now))
            position += 1
            continue
        a = active[person["id"]]
        category = person["category"]
        a.fee_category = category
        a.fee_category_id = category.id if category else None
        a.name, a.note = person["name"], person["note"]
        a.allergens, a.diets = person["allergens"], person["diets"]
    for a in removed:
        a.cancelled_at = now
    reg.updated_at = now
    session.flush()
    promoted = []
    if reg.status == RegistrationStatus.confirmed and delta < 0:
        events.release_seats(session, event, -delta)
        promoted = promote_waitlist(session, event, now=now)
    elif reg.status == RegistrationStatus.waitlisted:
        promoted = promote_waitlist(session, event, now=now)
    return Change(reg, promoted, changed=_as_told(reg) != before)


def _as_told(reg: Registration) -> tuple:
    """What the family is told of its sign-up (contact, people, what they avoid): a change
    mail goes out only when this differs."""
    return (reg.family_name, reg.given_name, reg.family_name_kana, reg.given_name_kana,
            reg.phone, reg.email, reg.message, reg.status,
            tuple((a.id, a.fee_category_id, a.name, tuple(a.allergens or ()),
                   tuple(a.diets or ()), a.note) for a in reg.active_attendees))


def find_for_lost_link(session, email: str, *, now: datetime, limit: int = 20
                       ) -> list[Registration]:
    """Active registrations of upcoming events under this e-mail (the lost-link page).

    Raises ValidationFailed (``fields["email"]``) for an empty address, one too long or one
    not shaped like an address; a well-formed address nobody signed up with is simply
    none found (the page answers the same for it as for a known one)."""
    errors: dict = {}
    if isinstance(email, str) and len(normalize_text(email)) > 254:
        # said as such: the shape check would call it a malformed address
        raise ValidationFailed(fields={"email": [_l(
            "This is too long (at most %(n)d characters).", n=254)]})
    address = clean_email(email, "email", errors)
    if not address and not errors:
        errors["email"] = [_l("Enter the e-mail address you signed up with.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return list(session.scalars(
        sa.select(Registration).join(Event)
        .where(sa.func.lower(Registration.email) == address.lower(),
               Registration.status != RegistrationStatus.cancelled.value,
               Event.ends_at > now)
        .order_by(Event.starts_at).limit(limit)))


# ---------------------------------------------------------------------------------------
# The organizers' view


def list_registrations(session, event: Event, *, q: str = "", status: str | None = None
                       ) -> list[Registration]:
    """An event's registrations in order of sign-up, optionally filtered by status and by a
    search on names and フリガナ that ignores hiragana/katakana, width and spaces."""
    query = (sa.select(Registration).where(Registration.event_id == event.id)
             .options(sa.orm.selectinload(Registration.attendees)
                      .joinedload(Attendee.fee_category))
             .order_by(Registration.created_at, Registration.id))
    if status:
        query = query.where(Registration.status == status)
    regs = list(session.scalars(query))
    needle = search_key(q or "")[:100]
    # a phone number as it is written (090-1111, ０９０ １１１１) against the stored digits
    digits = normalize_phone(q or "") if any(c.isdigit() for c in q or "") else ""
    if needle:
        regs = [r for r in regs if needle in _haystack(r)
                or (len(digits) >= 3 and digits in (r.phone or ""))]
    return regs


def _haystack(reg: Registration) -> str:
    parts = [reg.family_name, reg.given_name, reg.family_name_kana, reg.given_name_kana,
             reg.full_name, reg.full_name_kana, reg.phone, reg.email]
    parts += [a.name for a in reg.attendees]
    return "\n".join(search_key(p) for p in parts if p)


def counts(regs: list[Registration]) -> dict:
    """People by status and by fee category (confirmed only), for the organizer page;
    ``purged``: the sign-ups (any status) whose allergy and diet notes were deleted."""
    result = {"confirmed": 0, "waitlisted": 0, "cancelled": 0, "parties": 0,
              "by_category": {}, "purged": 0}
    for reg in regs:
        if reg.purged_at is not None:
            result["purged"] += 1
        people = reg.active_attendees if reg.status != "cancelled" else reg.attendees
        result[reg.status] = result.get(reg.status, 0) + len(people)
        if reg.status == RegistrationStatus.confirmed:
            result["parties"] += 1
            for a in people:
                label = a.fee_category.label if a.fee_category else "—"
                result["by_category"][label] = result["by_category"].get(label, 0) + 1
    return result


@dataclass
class KitchenLine:
    code: str
    kind: str  # "allergen" or "diet"
    people: int
    #: (registration, [names or positions of the people who avoid it])
    parties: list = field(default_factory=list)


def kitchen_summary(regs: list[Registration], *, include_waitlisted: bool = False) -> dict:
    """For each allergen and diet: how many people avoid it and which parties. Confirmed
    parties only unless asked. Returns {"allergens": [...], "diets": [...], "notes": [...]}
    with lines in the legal order (mandatory allergens first), and ``parties`` counted and
    how many of them were ``purged`` (their notes deleted after the event: no lines is then
    not "nothing to avoid")."""
    statuses = {"confirmed", "waitlisted"} if include_waitlisted else {"confirmed"}
    lines: dict[str, KitchenLine] = {}
    notes = []
    parties = purged = 0
    for reg in regs:
        if reg.status not in statuses:
            continue
        parties += 1
        if reg.purged_at is not None:
            purged += 1
        for n, a in enumerate(reg.active_attendees, start=1):
            who = a.name or f"#{n}"
            for kind, codes in (("allergen", a.allergens or []), ("diet", a.diets or [])):
                for code in codes:
                    line = lines.setdefault(code, KitchenLine(code, kind, 0))
                    line.people += 1
                    if line.parties and line.parties[-1][0] is reg:
                        line.parties[-1][1].append(who)
                    else:
                        line.parties.append((reg, [who]))
            if a.note:
                notes.append((reg, who, a.note))
    order = data.ordered(lines)
    return {
        "allergens": [lines[c] for c in order if lines[c].kind == "allergen"],
        "diets": [lines[c] for c in order if lines[c].kind == "diet"],
        "notes": notes,
        "parties": parties,
        "purged": purged,
    }


CSV_HEADERS = ("registration_id", "status", "family_name", "given_name", "family_name_kana",
               "given_name_kana", "phone", "email", "person", "category", "fee", "name",
               "allergens", "diets", "note", "checked_in_at", "registered_at", "message")


def registrations_csv(regs: list[Registration], *, lang: str = "ja",
                      headers: list[str] | None = None) -> str:
    """One row a person, as UTF-8 text with a BOM (Excel in Japan opens it). Cells that a
    spreadsheet would run as a formula are quoted with a leading apostrophe."""
    from gathering.timeutil import to_local

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers or CSV_HEADERS)
    for reg in regs:
        people = reg.attendees if reg.status == "cancelled" else reg.active_attendees
        for n, a in enumerate(people, start=1):
            writer.writerow([_cell(v) for v in (
                reg.id, str(RegistrationStatus(reg.status).label), reg.family_name, reg.given_name, reg.family_name_kana,
                reg.given_name_kana, format_phone(reg.phone), reg.email, n,
                a.fee_category.label if a.fee_category else "",
                a.fee_category.amount if a.fee_category else "", a.name,
                " ".join(data.label(c, lang) for c in a.allergens or []),
                " ".join(data.label(c, lang) for c in a.diets or []), a.note,
                to_local(a.checked_in_at).strftime("%Y-%m-%d %H:%M") if a.checked_in_at else "",
                to_local(reg.created_at).strftime("%Y-%m-%d %H:%M"), reg.message)])
    return out.getvalue()


def _cell(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ---------------------------------------------------------------------------------------
# Sensitive data (要配慮個人情報)


def purge_sensitive(session, *, now: datetime, days: int) -> int:
    """Delete allergy, diet and health notes and the message to organizers of events that
    ended more than ``days`` ago, and the stored answers of those events' check-ins (they
    repeat the party's allergen and diet codes). Names, contact and fee records stay
    (receipts, reports). Returns how many registrations were purged. Idempotent."""
    cutoff = now - timedelta(days=days)
    checkin.delete_answers(session, sa.select(Event.id).where(Event.ends_at < cutoff))
    regs = list(session.scalars(
        sa.select(Registration).join(Event)
        .where(Event.ends_at < cutoff, Registration.purged_at.is_(None))
        .options(sa.orm.selectinload(Registration.attendees))))
    for reg in regs:
        for a in reg.attendees:
            a.allergens, a.diets, a.note = [], [], ""
        reg.message = ""
        reg.purged_at = now
    session.flush()
    return len(regs)
