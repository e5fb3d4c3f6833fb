"""Fee forms: payments, waivers, refunds, cash counts and receipts. Shape only: amounts are
read by services.parse_yen (full-width digits, 1,000円) and the rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from gathering.fees.models import PaymentMethod

ENTRY_KINDS = [
    SelectChoice("bank_transfer", _l("Bank transfer received")),
    SelectChoice("cash", _l("Cash received")),
    SelectChoice("waived", _l("Waive (with a reason)")),
    SelectChoice("refund", _l("Refund (money paid back)")),
]

REFUND_METHODS = [
    SelectChoice(PaymentMethod.cash.value, PaymentMethod.cash.label),
    SelectChoice(PaymentMethod.bank_transfer.value, PaymentMethod.bank_transfer.label),
]


class LedgerEntryForm(FlaskForm):
    """One new ledger row for a party, chosen from the event's sign-ups."""

    registration_id = SelectField(_l("Sign-up"), coerce=int, choices=[],
                                  validators=[InputRequired(_l("Choose a sign-up."))])
    kind = RadioField(_l("What happened"), choices=ENTRY_KINDS, default="bank_transfer",
                      validators=[InputRequired(_l("Choose what happened."))])
    amount = StringField(_l("Amount (yen)"),
                         validators=[DataRequired(_l("Enter the amount.")), Length(max=20)])
    received_on = DateField(_l("Day the transfer arrived"), validators=[Optional()])
    reference = StringField(_l("Reference (bank statement text)"),
                            validators=[Optional(), Length(max=120)])
    refund_method = SelectField(_l("Refunded by"), choices=REFUND_METHODS,
                                default=PaymentMethod.cash.value)
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])
    #: one per page load, so a double submit records one row
    nonce = HiddenField()
    #: cash more than owed: the balance the organizer agreed to record, the rest being
    #: change given back (sent only by the page's offer after an ``exceeds_balance``)
    keep = HiddenField()


class CashCountForm(FlaskForm):
    volunteer_id = SelectField(_l("Whose cash"), coerce=int, default=0, choices=[])
    counted = StringField(_l("Cash counted in the till (yen)"),
                          validators=[DataRequired(_l("Enter the amount.")), Length(max=20)])
    float_amount = StringField(_l("Change float put in before opening (yen)"), default="0",
                               validators=[Optional(), Length(max=20)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class ReceiptForm(FlaskForm):
    addressee = StringField(_l("Name on the receipt (宛名)"),
                            validators=[DataRequired(_l("Enter the name for the receipt.")),
                                        Length(max=120)])
    proviso = StringField(_l("For (但し書き)"), validators=[Optional(), Length(max=200)])
    reissue = HiddenField(default="")
