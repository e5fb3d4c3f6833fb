"""The resident's receipt form (/r/<link>/receipt) sent without its session: the form comes
back with the name typed and a message, as the sign-up's own forms do, not a bare 400."""

from __future__ import annotations

import re

import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Receipt


def receipts() -> list[tuple[str, int]]:
    db.session.expire_all()
    found = [(r.addressee, r.amount) for r in db.session.scalars(sa.select(Receipt))]
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    return found


def test_the_receipt_form_sent_without_its_session_comes_back_with_the_name(
        make_app, cafeteria, make_registration, admit, now, organizer):
    reg, token = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    app = make_app(WTF_CSRF_ENABLED=True)
    db.session.rollback()
    client = app.test_client()
    path = f"/r/{token}/receipt"
    stale = client.post(path, data={"addressee": "山田太郎",
                                    "csrf_token": "from-a-session-long-gone"})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "領収書はまだ作られていません" in page and "もう一度ボタンを押してください" in page
    assert 'value="山田太郎"' in page
    assert receipts() == []
    token_now = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    again = client.post(path, data={"addressee": "山田太郎", "csrf_token": token_now})
    assert again.status_code == 302 and again.location.endswith(f"/r/{token}/receipt/view")
    assert receipts() == [("山田太郎", 300)]


def test_the_receipt_form_still_refuses_a_post_from_elsewhere_without_issuing(
        make_app, cafeteria, make_registration, admit, now, organizer):
    """Exempt from the global check, it checks itself: no token, nothing is issued."""
    reg, token = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    db.session.rollback()
    assert client.post(f"/r/{token}/receipt", data={"addressee": "誰か"}).status_code == 400
    assert receipts() == []
