"""Demo data for `flask --app wsgi seed-demo`: real-looking gatherings of a national network."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa

from gathering.accounts import services as accounts
from gathering.accounts.models import Branch, Role
from gathering.events import recurrence, services
from gathering.timeutil import TOKYO

BRANCHES = [
    ("hokkaido", "北海道", "北海道"),
    ("tohoku", "東北", "東北"),
    ("kita-kanto", "北関東", "関東"),
    ("higashi-kanto", "東関東", "関東"),
    ("saitama", "埼玉", "関東"),
    ("tokyo", "社連TOKYO", "関東"),
    ("kanagawa", "神奈川", "関東"),
    ("tokai", "東海", "中部"),
    ("hokuriku-shinetsu", "北陸信越", "中部"),
    ("kansai", "関西", "近畿"),
    ("chugoku-shikoku", "中国四国", "中国・四国"),
    ("kyushu-okinawa", "九州・沖縄", "九州・沖縄"),
]

DEMO_PASSWORD = "tsudoi-demo-2026"  # noqa: S105 - printed by make run, demo only
DEMO_LOGINS = [
    ("organizer", "organizer@tsudoi.example", DEMO_PASSWORD),
    ("volunteer", "volunteer@tsudoi.example", DEMO_PASSWORD),
    ("admin", "admin@tsudoi.example", DEMO_PASSWORD),
]

CHILD_ADULT = [{"code": "child", "label": "こども", "amount": 0},
               {"code": "adult", "label": "おとな", "amount": 300}]


def _venue(name, postal, address, access="", accessibility="", lat=None, lon=None):
    return {"name": name, "postal_code": postal, "address": address, "access_notes": access,
            "accessibility_notes": accessibility,
            "map_url": f"https://www.openstreetmap.org/search?query={quote(address)}",
            "latitude": lat, "longitude": lon}


def _next_weekday(now: datetime, weekday: int, weeks: int, hour: int) -> datetime:
    local = now.astimezone(TOKYO)
    days = (weekday - local.weekday()) % 7 + 7 * weeks
    day = (local + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=TOKYO)


def seed(session, *, now: datetime, months: int) -> bool:
    """Create the demo data if the database has no branch yet. Returns whether it did."""
    if session.scalar(sa.select(sa.func.count(Branch.id))):
        return False
    for slug, name, region in BRANCHES:
        session.add(Branch(
            slug=slug, name=name, region=region,
            description=f"{name}の地域委員会が運営する、地域のつどいです。",
            issuer_name=f"つどいネットワーク {name}委員会",
            issuer_address=f"{name}事務局",
            # お問い合わせ先, shown where residents are told to contact the organizers
            contact_email=f"{slug}@tsudoi.example"))
    session.flush()
    by_slug = {b.slug: b for b in session.scalars(sa.select(Branch))}

    organizer = accounts.create_user(
        session, DEMO_LOGINS[0][1], role=Role.organizer, password=DEMO_PASSWORD,
        name="デモ世話人", branch_slugs=["hokkaido", "higashi-kanto", "saitama", "tokyo",
                                       "hokuriku-shinetsu", "kanagawa", "kansai"])
    accounts.create_user(session, DEMO_LOGINS[1][1], role=Role.volunteer, password=DEMO_PASSWORD,
                         name="受付ボランティア", branch_slugs=["hokkaido"])
    admin = accounts.create_user(session, DEMO_LOGINS[2][1], role=Role.admin,
                                 password=DEMO_PASSWORD, name="管理者")
    hokkaido = by_slug["hokkaido"]
    hokkaido.issuer_name = "あさひかわ子ども食堂実行委員会"
    hokkaido.issuer_address = "〒070-0031 北海道旭川市1条通8丁目"
    hokkaido.contact_phone = "0166000000"  # shown 0166-00-0000: a made-up number

    # 旭川: a children's cafeteria every 2nd and 4th Saturday.
    first = _next_weekday(now, 5, 0, 11)
    kids = services.clean_series_data({
        "title": "あさひかわ子ども食堂",
        "kind": "kids_cafeteria",
        "description": (
            "地域のこどもと大人がいっしょに食べる食堂です。\n\n"
            "- こどもは**無料**、おとなは300円\n- 食物アレルギーは申込のときにお知らせください\n"
            "- 当日の飛び入りも、席があればどうぞ"),
        "starts_at": first, "duration_minutes": 180, "capacity": 40, "status": "published",
        "fees": CHILD_ADULT, "signup_closes_hours_before": 48,
        "pattern": recurrence.Pattern("monthly_nth", weekdays=[5], nths=[2, 4]),
        "venue": _venue("みんなの家 あさひかわ", "0700031", "北海道旭川市1条通8丁目",
                        "JR旭川駅から徒歩10分。駐車場は5台まで。",
                        "入口にスロープあり。多目的トイレあり。", 43.7668, 142.3650),
    })
    services.create_series(session, organizer, hokkaido, kids, now=now, months=months)

    def event(branch, **data):
        cleaned = services.clean_event_data(data)
        return services.create_event(session, admin, by_slug[branch], cleaned)

    start = _next_weekday(now, 5, 2, 13)
    event("higashi-kanto", title="しごとおこしセミナー in 中志津", kind="study_session",
          description="地域で小さな仕事をおこす人のための学習会です。事例紹介と相談会。",
          starts_at=start, ends_at=start + timedelta(hours=3), capacity=30, status="published",
          fees=[{"code": "general", "label": "一般", "amount": 500},
                {"code": "member", "label": "会員", "amount": 300}],
          fee_basis="registered",
          venue=_venue("中志津地区集会所", "2850843", "千葉県佐倉市中志津",
                       "京成志津駅から徒歩15分。", "1階のみの会場です。"))
    start = _next_weekday(now, 6, 1, 13)
    event("saitama", title="避難者交流会 in ふじみ野", kind="summit",
          description="東日本大震災・原発事故から避難されている方々の交流会です。お茶とお菓子を用意しています。",
          starts_at=start, ends_at=start + timedelta(hours=2, minutes=30), capacity=25,
          status="published", fees=[{"code": "general", "label": "参加費", "amount": 0}],
          venue=_venue("ふじみ野市立公民館", "3560011", "埼玉県ふじみ野市福岡",
                       "東武東上線上福岡駅から徒歩12分。", "エレベーターあり。"))
    start = _next_weekday(now, 4, 1, 18)
    event("tokyo", title="ドキュメンタリー上映会「まちの食卓」", kind="film_screening",
          description="子ども食堂をめぐるドキュメンタリーの上映と、監督を囲むトークです。",
          starts_at=start, ends_at=start + timedelta(hours=2, minutes=30), capacity=80,
          status="published",
          fees=[{"code": "general", "label": "一般", "amount": 1000},
                {"code": "student", "label": "学生", "amount": 500},
                {"code": "child", "label": "高校生以下", "amount": 0}],
          fee_basis="registered",
          venue=_venue("としま区民センター 小ホール", "1700013", "東京都豊島区東池袋1丁目",
                       "JR池袋駅東口から徒歩5分。", "車いす席あり（事前にご連絡ください）。"))
    start = _next_weekday(now, 5, 5, 10)
    event("hokuriku-shinetsu", title="全国達人名人サミット in 富山市山田", kind="summit",
          description="全国の「達人」「名人」が集まり、わざと知恵を分かち合う2日間のサミットです。",
          starts_at=start, ends_at=start + timedelta(days=1, hours=6), capacity=150,
          status="published",
          fees=[{"code": "general", "label": "参加費（2日間）", "amount": 2000}],
          fee_basis="registered",
          venue=_venue("山田地域交流センター", "9302243", "富山県富山市山田湯",
                       "富山駅から車で約40分。送迎バスあり（要予約）。", "会場はバリアフリーです。"))
    start = _next_weekday(now, 2, 1, 17)
    event("kanagawa", title="みんな食堂 よこはま", kind="shared_meal",
          description="誰でも来られる食堂です。ひとりでも、家族でも。",
          starts_at=start, ends_at=start + timedelta(hours=2), capacity=12, status="published",
          fees=[{"code": "child", "label": "こども", "amount": 100},
                {"code": "adult", "label": "おとな", "amount": 300}],
          venue=_venue("地域ケアプラザ 調理室", "2310023", "神奈川県横浜市中区山下町",
                       "みなとみらい線元町・中華街駅から徒歩3分。", "段差なし。"))
    start = _next_weekday(now, 0, 2, 14)
    cancelled = event("kansai", title="みそづくりワークショップ", kind="workshop",
                      description="大豆から手前みそを仕込みます。持ち帰り容器をご持参ください。",
                      starts_at=start, ends_at=start + timedelta(hours=2), capacity=16,
                      status="published", fees=[{"code": "general", "label": "材料費",
                                                 "amount": 1500}],
                      venue=_venue("大阪市立市民交流センター", "5340024",
                                   "大阪府大阪市都島区東野田町"))
    services.cancel_event(session, admin, cancelled, now=now)
    session.flush()
    _demo_registrations(session, now)
    return True


# Demo sign-ups, made through the sign-up service like real ones.
_FAMILIES = [
    ("佐藤", "美咲", "さとう", "みさき", "09011112222", "misaki@example.jp",
     [("adult", "", [], [], ""), ("child", "ゆうと", ["egg", "milk"], [], "卵は少量でも不可"),
      ("child", "はな", [], [], "")]),
    ("鈴木", "健一", "すずき", "けんいち", "08033334444", "",
     [("adult", "", [], [], ""), ("child", "そら", ["wheat"], ["soft_food"], "")]),
    ("Nguyen", "Thi Lan", "", "", "07055556666", "lan@example.com",
     [("adult", "", [], ["halal"], ""), ("child", "An", ["peanut", "walnut"], ["halal"], "")]),
    ("田中", "翼", "たなか", "つばさ", "", "tsubasa@example.jp",
     [("child", "", ["shrimp", "crab"], [], "")]),
]


def _demo_registrations(session, now: datetime) -> None:
    from gathering.events.models import Event
    from gathering.rsvp import services as rsvp

    def person(category, name, allergens, diets, note):
        return {"category": category, "name": name, "allergens": allergens, "diets": diets,
                "note": note}

    def signup(event, family, given, fkana, gkana, phone, email, people):
        rsvp.register(session, event, {
            "contact": {"family_name": family, "given_name": given, "family_name_kana": fkana,
                        "given_name_kana": gkana, "phone": phone, "email": email},
            "attendees": [person(*p) for p in people], "consent": True}, now=now)

    kids = [e for e in session.scalars(
        sa.select(Event).where(Event.title == "あさひかわ子ども食堂").order_by(Event.starts_at))
        if services.signup_state(e, now) == "open"]
    if kids:
        for family in _FAMILIES:
            signup(kids[0], *family)
    shared = session.scalar(sa.select(Event).where(Event.title == "みんな食堂 よこはま"))
    if shared is not None and services.signup_state(shared, now) == "open":
        # 10 of 12 seats taken: the page shows 残りわずか
        names = [("高橋", "直子", "たかはし", "なおこ"), ("伊藤", "浩", "いとう", "ひろし"),
                 ("渡辺", "恵", "わたなべ", "めぐみ"), ("山本", "大輔", "やまもと", "だいすけ")]
        for i, (family, given, fkana, gkana) in enumerate(names):
            people = [("adult", "", [], [], "")] * 2
            if i % 2:
                people.append(("child", "", ["soybean"] if i == 3 else [], [], ""))
            signup(shared, family, given, fkana, gkana, f"0901234{5670 + i}", "", people)
    session.flush()
