"""The organizer's fee table keeps each category with its name: the form carries a row's
code in a hidden field, so retyping the rows in another order must not move the people
signed up from one fee to another."""

from gathering.extensions import db
from tests.organizer.test_edit_mails import _form_of, _same_days_form
from tests.rsvp.test_mail_cli import _wednesday_and_saturday_series


def _fees_of(reg):
    db.session.expire_all()
    return [(a.fee_category.label, a.fee_category.amount) for a in reg.attendees]


def _rows(*rows):
    """Form rows in order, each keeping the hidden code its place had."""
    data = {}
    for i, (code, label, amount) in enumerate(rows):
        data.update({f"fees-{i}-code": code, f"fees-{i}-label": label,
                     f"fees-{i}-amount": str(amount)})
    return data


def test_rows_retyped_in_another_order_keep_each_persons_fee(client, auth, make_user,
                                                              make_event, make_registration):
    event = make_event(capacity=10)  # こども 0円, おとな 300円
    reg, _ = make_registration(event, people=("child", "adult"))
    before = _fees_of(reg)
    auth.login(make_user("organizer", branches=[event.branch]))
    # おとな typed into the first row (whose hidden code is こども's), こども into the second
    swapped = _rows(("child", "おとな", 300), ("adult", "こども", 0))
    assert client.post(f"/organizer/events/{event.id}/edit",
                       data=_form_of(event, **swapped)).status_code == 302
    assert _fees_of(reg) == before
    db.session.expire_all()
    assert [(f.code, f.label, f.amount) for f in event.fees] == [
        ("adult", "おとな", 300), ("child", "こども", 0)]  # the new order is kept


def test_a_renamed_row_is_still_its_category_and_a_new_name_beside_a_moved_one_is_new(
        client, auth, make_user, make_event, make_registration):
    event = make_event(capacity=10)
    reg, _ = make_registration(event, people=("child", "adult"))
    auth.login(make_user("organizer", branches=[event.branch]))
    renamed = _rows(("child", "小学生まで", 0), ("adult", "オトナ", 400))  # width and kana aside
    assert client.post(f"/organizer/events/{event.id}/edit",
                       data=_form_of(event, **renamed)).status_code == 302
    assert _fees_of(reg) == [("小学生まで", 0), ("オトナ", 400)]
    # おとな moved up, and a new name put where it was: the children's fee would be gone
    page = client.post(f"/organizer/events/{event.id}/edit",
                       data=_form_of(event, **_rows(("child", "おとな", 400),
                                                    ("adult", "中学生", 200))))
    assert page.status_code == 200
    assert "料金「小学生まで」は申込で選ばれているため、削除できません。" in page.get_data(as_text=True)
    assert _fees_of(reg) == [("小学生まで", 0), ("オトナ", 400)]


def test_a_series_fee_table_retyped_in_another_order_keeps_each_persons_fee(
        client, auth, make_branch, make_user, make_registration):
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    reg, _ = make_registration(wednesdays[0], people=("child", "adult"))
    before = _fees_of(reg)
    auth.login(organizer)
    labels = {f["code"]: f["label"] for f in series.fee_template}
    amounts = {f["code"]: f["amount"] for f in series.fee_template}
    form = _same_days_form(series, **_rows(("child", labels["adult"], amounts["adult"]),
                                           ("adult", labels["child"], amounts["child"])))
    assert client.post(f"/organizer/series/{series.id}/edit", data=form).status_code == 302
    assert _fees_of(reg) == before
