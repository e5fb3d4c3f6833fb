"""What a 実績報告書 asks of the money reports (DOMAIN.md §2): per session the children and
adults signed up and who came, and the totals of the fiscal year (年度, April to March)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from gathering.accounts.models import Branch, User
from gathering.errors import ValidationFailed
from gathering.events import services as events
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.timeutil import TOKYO, utcnow
from tests.test_query_counts import counting

#: the month CSV's columns before the people were added: kept, in this order
EXISTING = ["日付", "和暦", "年度", "イベント", "団体", "申込数", "請求額（円）", "現金（円）",
            "振込（円）", "オンライン（円）", "返金（円）", "免除（円）", "差引収入（円）",
            "未収（円）", "状態"]
PEOPLE = ["こども申込人数", "おとな申込人数", "こども参加人数", "おとな参加人数"]


def _came(reg, positions=None) -> None:
    for i, person in enumerate(reg.active_attendees):
        if positions is None or i in positions:
            person.checked_in_at = utcnow()
    db.session.commit()


@pytest.fixture
def december(cafeteria, make_registration, organizer, now):
    """The 12/12 cafeteria: a family of two children and a parent who all came and paid
    300円 cash; a family of a child and a parent where only the child came (0円); a parent
    who did not come; a walk-in child and grandparent (300円 by transfer); a waiting adult;
    a cancelled sign-up; a child taken off a sign-up."""
    yamada, _ = make_registration(cafeteria, people=("child", "child", "adult"))
    _came(yamada)
    fees.record_payment(db.session, yamada, 300, "cash", user=organizer)
    sato, _ = make_registration(cafeteria, people=("child", "adult"), family_name="佐藤")
    _came(sato, {0})
    suzuki, _ = make_registration(cafeteria, people=("adult", "child"), family_name="鈴木")
    suzuki.attendees[1].cancelled_at = utcnow()  # the child stayed home, taken off the list
    walk_in, _ = make_registration(cafeteria, people=("child", "adult"), family_name="高橋")
    walk_in.is_walk_in = True
    _came(walk_in)
    fees.record_payment(db.session, walk_in, 300, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    make_registration(cafeteria, people=("adult",), status="waitlisted", family_name="田中")
    make_registration(cafeteria, people=("child",), status="cancelled", family_name="伊藤")
    db.session.commit()
    return cafeteria


def test_children_and_adults_signed_up_and_who_came(december):
    summary, _lines = fees.event_money(db.session, december)
    people = summary.people
    # signed up beforehand (confirmed, not at the door): 山田 2+1, 佐藤 1+1, 鈴木 0+1
    assert (people.children_signed_up, people.adults_signed_up) == (3, 3)
    # came: 山田 2+1, 佐藤 1+0, the walk-ins 1+1
    assert (people.children_came, people.adults_came) == (4, 2)
    assert (people.signed_up, people.came) == (6, 6)
    assert summary.net == 600


def test_only_child_fee_categories_count_as_children(make_event, make_registration):
    event = make_event(fees=[{"code": "general", "label": "一般", "amount": 1000},
                             {"code": "child", "label": "高校生以下", "amount": 0}])
    reg, _ = make_registration(event, people=("general", "child", "child"))
    _came(reg, {0, 1})
    people = fees.event_money(db.session, event)[0].people
    assert (people.children_signed_up, people.adults_signed_up) == (2, 1)
    assert (people.children_came, people.adults_came) == (1, 1)


def test_month_csv_appends_the_people_after_the_existing_columns(client, auth, december,
                                                                organizer):
    auth.login(organizer)
    text = client.get("/organizer/money.csv?month=2026-12").data.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == EXISTING + PEOPLE
    assert row[:6] == ["2026-12-12", "令和8年12月12日", "2026", "子ども食堂", "あさひ子ども食堂",
                       "5"]  # parties: the waiting one too, as before
    assert row[7:9] == ["300", "300"] and row[12] == "600" and row[14] == "開催"
    assert row[15:] == ["3", "3", "4", "2"]


def test_month_page_shows_who_came(client, auth, december, organizer):
    auth.login(organizer)
    html = client.get("/organizer/money?month=2026-12").get_data(as_text=True)
    assert "こども参加人数" in html and "おとな参加人数" in html
    assert '<td class="num">4</td><td class="num">2</td>' in html
    assert 'href="/organizer/money?year=2026"' in html and "2026年度" in html


# ---------------------------------------------------------------------------------------
# The fiscal year (年度): April to March


@pytest.mark.parametrize("text", ["2026", "２０２６", "2026年度", " 2026 "])
def test_fiscal_year_bounds(text):
    assert fees.fiscal_year_bounds(text) == (2026, datetime(2026, 4, 1, tzinfo=TOKYO),
                                             datetime(2027, 4, 1, tzinfo=TOKYO))


def test_fiscal_year_defaults_to_the_current_one():
    assert fees.fiscal_year_bounds(None, datetime(2027, 3, 31, 23, tzinfo=TOKYO))[0] == 2026
    assert fees.fiscal_year_bounds("", datetime(2027, 4, 1, 0, 5, tzinfo=TOKYO))[0] == 2027


@pytest.mark.parametrize("text", ["26", "1999", "2100", "2026-12", "令和8年度", "x" * 500])
def test_bad_fiscal_year_is_refused(text):
    with pytest.raises(ValidationFailed) as exc:
        fees.fiscal_year_bounds(text)
    assert exc.value.code == "invalid_year"


def test_fiscal_year_era():
    assert fees.fiscal_year_era(2026) == "令和8年度"
    assert fees.fiscal_year_era(2019) == "令和元年度"  # its April was still 平成31年
    assert fees.fiscal_year_era(2018) == "平成30年度"


@pytest.fixture
def fiscal_2026(december, make_event, make_registration, organizer):
    """December's cafeteria and, around 2026年度: 3/31 (2025年度), 4/1 00:30 and 3/31 23:00
    (2026年度), 4/1 of 2027 (2027年度); each with a family of a child and a parent who came
    and paid 300円; and a January screening called off."""
    branch = december.branch
    made = {}
    for key, start in [("before", datetime(2026, 3, 31, 11, tzinfo=TOKYO)),
                       ("first", datetime(2026, 4, 1, 0, 30, tzinfo=TOKYO)),
                       ("last", datetime(2027, 3, 31, 20, tzinfo=TOKYO)),
                       ("after", datetime(2027, 4, 1, 11, tzinfo=TOKYO))]:
        event = make_event(branch, title=f"子ども食堂 {start:%Y-%m-%d}", starts_at=start,
                           hours=2)
        reg, _ = make_registration(event, people=("child", "adult"))
        _came(reg)
        fees.record_payment(db.session, reg, 300, "cash", user=organizer)
        made[key] = event
    off = make_event(branch, title="1月の上映会", starts_at=datetime(2027, 1, 16, 14, tzinfo=TOKYO))
    make_registration(off, people=("adult", "adult"))
    off.status = "cancelled"
    db.session.commit()
    made["off"] = off
    return made


def test_year_money_covers_april_to_march(december, fiscal_2026):
    fy, rows, total = fees.year_money(db.session, [december.branch_id], "2026")
    assert fy == 2026
    assert [e.id for e, _s in rows] == [fiscal_2026["first"].id, december.id,
                                        fiscal_2026["off"].id, fiscal_2026["last"].id]
    assert total.net == 600 + 300 + 300
    people = total.people
    # December 3+3 signed up, 4+2 came; two families of 1+1 who came; the screening 0+2
    assert (people.children_signed_up, people.adults_signed_up) == (5, 7)
    assert (people.children_came, people.adults_came) == (6, 4)
    assert fees.count_events(rows) == (3, 1, 0)


def test_year_page(client, auth, december, fiscal_2026, organizer):
    auth.login(organizer)
    html = client.get("/organizer/money?year=2026").get_data(as_text=True)
    assert "2026年度のお金" in html and "令和8年度（2026年4月〜2027年3月）" in html
    assert fiscal_2026["first"].title in html and fiscal_2026["last"].title in html
    assert fiscal_2026["before"].title not in html and fiscal_2026["after"].title not in html
    assert "開催 3回・中止 1回" in html and "1,200円" in html
    assert '<td class="num">6</td><td class="num">4</td>' in html  # the year's total
    assert 'href="/organizer/money.csv?year=2026"' in html
    assert 'href="/organizer/money?year=2025"' in html
    html = client.get("/organizer/money?year=garbage").get_data(as_text=True)
    assert "年度は 2026 のように選んでください。" in html  # falls back to this fiscal year


def test_year_csv_has_a_row_per_event_and_the_total(client, auth, december, fiscal_2026,
                                                    organizer):
    auth.login(organizer)
    response = client.get("/organizer/money.csv?year=2026")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert "money-fy2026.csv" in response.headers["Content-Disposition"]
    header, *rows, last = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header == EXISTING + PEOPLE
    assert [r[0] for r in rows] == ["2026-04-01", "2026-12-12", "2027-01-16", "2027-03-31"]
    assert [r[1] for r in rows][0] == "令和8年4月1日" and {r[2] for r in rows} == {"2026"}
    assert rows[2][14] == "中止" and rows[2][15:] == ["0", "2", "0", "0"]
    assert last[:4] == ["合計", "令和8年度", "2026", "開催 3回・中止 1回"]
    assert last[12] == "1200" and last[15:] == ["5", "7", "6", "4"]


def test_year_is_scoped_to_the_groups_of_the_user(client, auth, december, fiscal_2026,
                                                  stranger):
    auth.login(stranger)
    html = client.get("/organizer/money?year=2026").get_data(as_text=True)
    assert "この年度のイベントはありません。" in html and december.title not in html
    text = client.get("/organizer/money.csv?year=2026").data.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 2  # the header and a total of nothing
    client.post("/logout")
    response = client.get("/organizer/money?year=2026")
    assert response.status_code == 302 and "/login" in response.location


def test_year_page_does_not_grow_with_the_events(client, auth, cafeteria, make_registration,
                                                 organizer):
    auth.login(organizer)
    branch_id = cafeteria.branch_id

    def statements() -> int:
        client.get("/organizer/money?year=2026")  # warm-up
        with counting() as seen:
            assert client.get("/organizer/money?year=2026").status_code == 200
        return len(seen)

    def add(n: int, start: int) -> None:
        # counting() ended the session: objects of before are detached
        branch = db.session.get(Branch, branch_id)
        user = db.session.get(User, organizer_id)
        for i in range(n):
            begins = datetime(2026, 4, 4, 11, tzinfo=TOKYO) + timedelta(days=7 * (start + i))
            event = events.create_event(db.session, user, branch, events.clean_event_data({
                "title": f"食堂{start + i}", "kind": "kids_cafeteria", "starts_at": begins,
                "ends_at": begins + timedelta(hours=3), "status": "published",
                "fees": [{"code": "child", "label": "こども", "amount": 0},
                         {"code": "adult", "label": "おとな", "amount": 300}]}))
            db.session.commit()
            reg, _ = make_registration(event, people=("child", "adult"))
            _came(reg)
            fees.record_payment(db.session, reg, 300, "cash", user=user)
            db.session.commit()

    organizer_id = organizer.id
    small = statements()
    add(3, 0)
    with_three = statements()
    add(20, 3)
    assert statements() == with_three <= small + 4, (small, with_three)
