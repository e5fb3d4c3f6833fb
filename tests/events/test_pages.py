"""Public pages through the client: listing, filters, the event page, branches, languages."""

from datetime import datetime, timedelta

import pytest

from gathering.timeutil import TOKYO

VENUE = {"name": "みんなの家 あさひかわ", "postal_code": "0700031", "address": "北海道旭川市1条通8丁目",
         "access_notes": "JR旭川駅から徒歩10分", "accessibility_notes": "入口にスロープあり",
         "map_url": "https://www.openstreetmap.org/?mlat=43.7&mlon=142.3"}


def soon(days=7, hour=11):
    day = datetime.now(TOKYO).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=TOKYO)


def test_event_page_shows_everything_a_resident_needs(client, make_event):
    start = datetime(2030, 12, 14, 11, tzinfo=TOKYO)  # a Saturday
    event = make_event(starts_at=start, venue=VENUE, capacity=40,
                       description="**無料**です")
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "2030年12月14日(土) 11:00〜14:00" in page
    assert "〒070-0031" in page and "北海道旭川市1条通8丁目" in page
    assert 'href="https://www.openstreetmap.org/?mlat=43.7&amp;mlon=142.3"' in page
    assert "JR旭川駅から徒歩10分" in page and "入口にスロープあり" in page
    assert "<th scope=\"row\">こども</th><td>無料</td>" in page
    assert "<th scope=\"row\">おとな</th><td>300円</td>" in page
    assert "残り40席" in page
    assert "<strong>無料</strong>" in page
    assert 'lang="ja"' in page


def test_few_seats_and_full(client, make_event, make_registration):
    few = make_event(capacity=4)
    make_registration(few, people=("child",))
    assert "残りわずか（あと3席）" in client.get(f"/events/{few.id}").get_data(as_text=True)
    full = make_event(capacity=2)
    make_registration(full, people=("child", "adult"))
    page = client.get(f"/events/{full.id}").get_data(as_text=True)
    assert "満席" in page and "キャンセル待ち" in page
    listing = client.get("/").get_data(as_text=True)
    assert "満席" in listing and "残りわずか" in listing


def test_a_cancelled_event_is_marked_unmistakably(client, make_event, make_user):
    from gathering.events import services
    from gathering.extensions import db

    event = make_event(title="みそづくり")
    services.cancel_event(db.session, make_user("admin"), event)
    db.session.commit()
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert page.count("中止") >= 2
    assert 'class="cancelled-banner" role="alert"' in page
    assert "<del>" in page
    assert "申込はできません" in page
    listing = client.get("/").get_data(as_text=True)
    assert "badge-cancelled" in listing and "中止" in listing


def test_hostile_markdown_never_reaches_the_page(client, make_event):
    event = make_event(description='<script>alert(1)</script>[x](javascript:alert(2))'
                                   '<img src=x onerror="alert(3)">')
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "alert(" not in page.split('class="description"', 1)[1].split("</div>", 1)[0] \
        or "<script>alert" not in page
    assert "<script>alert" not in page
    assert "javascript:alert" not in page
    assert "onerror" not in page


def test_title_markup_is_escaped(client, make_event):
    event = make_event(title="<b onmouseover=alert(1)>食堂</b>")
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "<b onmouseover" not in page and "&lt;b onmouseover" in page


def test_drafts_are_invisible(client, make_event):
    draft = make_event(title="下書きの会", status="draft")
    assert client.get(f"/events/{draft.id}").status_code == 404
    assert "下書きの会" not in client.get("/").get_data(as_text=True)
    assert "下書きの会" not in client.get(f"/branches/{draft.branch.slug}").get_data(as_text=True)


def test_an_organizer_previews_a_draft_and_nobody_else_sees_it(client, auth, make_event,
                                                               make_user):
    draft = make_event(title="下書きの会", status="draft")
    auth.login(make_user("volunteer", branches=[draft.branch]))
    assert client.get(f"/events/{draft.id}").status_code == 404  # a volunteer: no draft
    auth.logout()
    auth.login(make_user("organizer"))  # of another group
    assert client.get(f"/events/{draft.id}").status_code == 404
    auth.logout()
    auth.login(make_user("organizer", branches=[draft.branch]))
    page = client.get(f"/events/{draft.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "下書きの会" in body
    assert "公開するまで、このページは運営者にしか見えません。" in body
    assert 'class="signup-form' not in body  # nobody signs up to a draft
    auth.logout()
    assert client.get(f"/events/{draft.id}").status_code == 404  # nor was it kept for others


def test_filters_by_branch_kind_and_month(client, make_event, make_branch):
    a, b = make_branch(name="北海道"), make_branch(name="関西")
    make_event(a, title="旭川の食堂", starts_at=soon(3), kind="kids_cafeteria")
    make_event(b, title="大阪の上映会", starts_at=soon(4), kind="film_screening")
    make_event(b, title="遠い学習会", starts_at=datetime(2031, 3, 8, 13, tzinfo=TOKYO),
               kind="study_session")

    def titles(url):
        page = client.get(url).get_data(as_text=True)
        return {t for t in ("旭川の食堂", "大阪の上映会", "遠い学習会") if t in page}

    assert titles("/") == {"旭川の食堂", "大阪の上映会", "遠い学習会"}
    assert titles(f"/?branch={a.slug}") == {"旭川の食堂"}
    assert titles("/?kind=film_screening") == {"大阪の上映会"}
    assert titles("/?month=2031-03") == {"遠い学習会"}
    assert titles(f"/?branch={b.slug}&kind=study_session") == {"遠い学習会"}
    assert titles(f"/branches/{b.slug}") == {"大阪の上映会", "遠い学習会"}
    assert titles(f"/branches/{b.slug}?kind=film_screening") == {"大阪の上映会"}


def test_pagination_keeps_the_filters(make_app, make_event, make_branch):
    branch = make_branch()
    for i in range(5):
        make_event(branch, title=f"会{i}", starts_at=soon(i + 1))
    client = make_app(EVENTS_PER_PAGE=2).test_client()
    first = client.get(f"/?branch={branch.slug}").get_data(as_text=True)
    assert "会0" in first and "会1" in first and "会2" not in first
    assert "1 / 3 ページ" in first
    assert f'href="/?branch={branch.slug}&amp;page=2"' in first
    last = client.get(f"/?branch={branch.slug}&page=3").get_data(as_text=True)
    assert "会4" in last and 'rel="next"' not in last
    empty = client.get("/?page=9").get_data(as_text=True)
    assert "合うイベントがありません" in empty
    # a query named like the path's argument, or like url_for's own, changes no link
    other = make_branch()
    odd = client.get(f"/branches/{branch.slug}?slug={other.slug}&_scheme=ftp&_anchor=x")
    assert odd.status_code == 200
    assert (f'href="/branches/{branch.slug}?slug={other.slug}&amp;_scheme=ftp&amp;'
            f'_anchor=x&amp;page=2"') in odd.get_data(as_text=True)


@pytest.mark.parametrize("query, says", [
    ("page=0", "リクエストの内容がわかりませんでした"),
    ("page=-1", "リクエストの内容がわかりませんでした"),
    ("page=abc", "リクエストの内容がわかりませんでした"),
    ("page=" + "9" * 50, "リクエストの内容がわかりませんでした"),
    ("month=2026-13", "月は 2026-12 のように選んでください。"),
    ("month=abc", "月は 2026-12 のように選んでください。"),
    ("month=2026", "月は 2026-12 のように選んでください。"),
    ("month=" + "1" * 10_000, "月は 2026-12 のように選んでください。"),
    ("month=0001-01", "月は 2026-12 のように選んでください。"),
    ("month=9999-12", "月は 2026-12 のように選んでください。"),
])
def test_malformed_filters_are_a_400(client, app, query, says):
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)


@pytest.mark.parametrize("month", ["2031-03", "2031-3", "2031/03", "2031/3", "2031.03",
                                   "2031年3月", "２０３１年３月", " 2031 / 03 "])
def test_a_month_typed_without_a_month_picker_is_understood(client, make_event, make_branch,
                                                            month):
    branch = make_branch()
    make_event(branch, title="遠い学習会", starts_at=datetime(2031, 3, 8, 13, tzinfo=TOKYO))
    make_event(branch, title="翌月の会", starts_at=datetime(2031, 4, 8, 13, tzinfo=TOKYO))
    for url in ("/", f"/branches/{branch.slug}"):
        response = client.get(url, query_string={"month": month})
        assert response.status_code == 200, (url, month)
        page = response.get_data(as_text=True)
        assert "遠い学習会" in page and "翌月の会" not in page
        # the month picker shows it back the way it understands months
        assert 'name="month" value="2031-03"' in page


@pytest.mark.parametrize("url", ["/?kind=party", "/?branch=nowhere", "/branches/nowhere",
                                 "/events/999999", "/events/abc", "/branches/x?kind=party"])
def test_unknown_things_are_a_404(client, app, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_branch_page(client, make_branch, make_event):
    branch = make_branch(name="東関東", description="佐倉市を中心に活動しています")
    make_event(branch, title="しごとおこしセミナー")
    page = client.get(f"/branches/{branch.slug}").get_data(as_text=True)
    assert "東関東" in page and "佐倉市を中心に活動しています" in page
    assert "しごとおこしセミナー" in page


def test_language_from_query_then_cookie_then_accept_language(client, make_event):
    event = make_event(starts_at=datetime(2030, 12, 14, 11, tzinfo=TOKYO))
    url = f"/events/{event.id}"
    assert "2030年12月14日(土)" in client.get(url).get_data(as_text=True)
    english = client.get(url + "?lang=en")
    page = english.get_data(as_text=True)
    assert "Sat 14 Dec 2030, 11:00–14:00" in page and 'lang="en"' in page
    assert "¥300" in page and "Children's cafeteria" in page
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "HttpOnly" in english.headers["Set-Cookie"]
    # the cookie keeps English on the next page
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    assert 'lang="ja"' in client.get("/?lang=ja").get_data(as_text=True)
    assert 'lang="ja"' in client.get("/").get_data(as_text=True)


def test_accept_language(app, make_event):
    client = app.test_client()
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True)
    assert 'lang="ja"' in client.get("/", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(
        as_text=True)
    assert 'lang="ja"' in client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="ja"' in client.get("/?lang=xx").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/", "/login", "/branches/{slug}", "/events/{id}", "/nowhere"])
def test_every_page_has_a_language_switch_that_keeps_the_page(client, make_event, url):
    event = make_event()
    url = url.format(slug=event.branch.slug, id=event.id)
    page = client.get(url).get_data(as_text=True)
    assert 'hreflang="en"' in page and ">English<" in page
    if url != "/nowhere":
        assert f'href="{url.split("?")[0]}?lang=en"' in page or "lang=en" in page
    english = client.get(url + ("&" if "?" in url else "?") + "lang=en").get_data(as_text=True)
    assert 'hreflang="ja"' in english and ">日本語<" in english


def test_language_switch_keeps_filters(client, make_event):
    event = make_event()
    page = client.get(f"/?kind=kids_cafeteria&branch={event.branch.slug}").get_data(as_text=True)
    assert "kind=kids_cafeteria" in page.split('class="lang-switch"')[1].split("</p>")[0]


def test_cancelled_is_translated_as_chuushi():
    from babel.messages.pofile import read_po

    from config import BASE_DIR

    with open(BASE_DIR / "translations/ja/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale="ja")
    assert catalog["Cancelled"].string == "中止"


def test_security_headers_and_health(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.parametrize("url", ["/events/99999999999999999999", "/events/2147483648",
                                 "/api/v1/events/99999999999999999999",
                                 "/organizer/events/99999999999999999999"])
def test_ids_beyond_the_database_are_unknown_not_a_crash(client, app, url):
    assert client.get(url).status_code in (302, 404)


def test_a_month_the_listing_cannot_read_keeps_the_page_and_the_other_filters(
        client, make_event, make_branch):
    """A phone without a month picker: 「12月」 typed in the box. The listing stays, with
    the kind still chosen and the words by the month field, never a bare error page."""
    branch = make_branch(name="北海道")
    make_event(branch, title="旭川の食堂", starts_at=soon(3), kind="kids_cafeteria")
    make_event(branch, title="大阪の上映会", starts_at=soon(4), kind="film_screening")
    for path in ("/", f"/branches/{branch.slug}"):
        response = client.get(path, query_string={"month": "12月", "kind": "kids_cafeteria"})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "旭川の食堂" in page and "大阪の上映会" not in page  # the kind still applies
        assert 'value="kids_cafeteria" selected' in page
        assert 'value="12月"' in page and 'aria-describedby="f-month-error"' in page
        assert "月は 2026-12 のように選んでください。" in page
        # the refusal is not kept for the next visitor: the plain page is whole again
        assert client.get(path).status_code == 200


def test_the_event_page_says_until_when_sign_up_is_open(client, make_event):
    closes = soon(5, hour=17)
    event = make_event(title="旭川の食堂", starts_at=soon(7), signup_closes_at=closes)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "申込締切" in page
    day = f"{closes.month}月{closes.day}日"
    assert day in page.split("申込締切", 1)[1][:200]
    # once it has passed, the page says when it closed instead of a bare "closed"
    past = make_event(title="締切後", starts_at=soon(7), signup_closes_at=soon(-1))
    page = client.get(f"/events/{past.id}").get_data(as_text=True)
    assert "に締め切りました" in page


def test_the_event_page_says_whom_to_ask_with_links_a_phone_opens(client, make_event,
                                                                   make_branch):
    branch = make_branch(name="あさひかわ子ども食堂", contact_phone="0166123456",
                         contact_email="info@asahikawa.example.jp")
    page = client.get(f"/events/{make_event(branch).id}").get_data(as_text=True)
    assert ('<p class="contact">お問い合わせ（あさひかわ子ども食堂）: 電話番号 '
            '<a href="tel:0166123456">0166-12-3456</a> · メールアドレス '
            '<a href="mailto:info@asahikawa.example.jp">info@asahikawa.example.jp</a></p>'
            in page)
    mail_only = make_branch(contact_email="info@kushiro.example.jp")
    page = client.get(f"/events/{make_event(mail_only).id}").get_data(as_text=True)
    assert "お問い合わせ" in page and 'href="mailto:info@kushiro.example.jp"' in page
    assert "tel:" not in page and "電話番号 " not in page


def test_a_group_without_contact_adds_no_inquiries_line(client, make_event):
    page = client.get(f"/events/{make_event().id}").get_data(as_text=True)
    assert "お問い合わせ" not in page and "tel:" not in page and "mailto:" not in page


def test_health_answers_503_json_when_the_database_does_not(make_app, tmp_path, caplog):
    down = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no-such-dir/tsudoi.db")
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "the database does not answer" in caplog.text


def test_hsts_is_sent_over_https_only_when_configured(make_app, client):
    assert "Strict-Transport-Security" not in client.get(
        "/", base_url="https://localhost").headers  # 0 (the default outside production)
    strict = make_app(HSTS_SECONDS=600).test_client()
    assert strict.get("/", base_url="https://localhost").headers[
        "Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in strict.get("/").headers  # plain HTTP


def test_production_asks_browsers_for_https_for_a_year():
    from config import ProductionConfig

    assert ProductionConfig.HSTS_SECONDS == 365 * 24 * 3600
