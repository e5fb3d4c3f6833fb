"""Operator commands (API.md): create-user, create-token, seed-demo."""

import sqlalchemy as sa

from gathering.accounts import services as accounts
from gathering.accounts.models import Branch, User
from gathering.events import recurrence
from gathering.events.models import Event, Series
from gathering.extensions import db
from gathering.timeutil import TOKYO


def test_create_user_prints_a_generated_password_that_works(runner, make_branch):
    branch = make_branch(slug="hokkaido")
    result = runner.invoke(args=["create-user", "Sewanin@Example.org", "--role", "organizer",
                                 "--branch", branch.slug])
    assert result.exit_code == 0, result.output
    assert "Created organizer sewanin@example.org" in result.output
    password = result.output.strip().splitlines()[-1].removeprefix("Password: ")
    assert len(password) >= 12
    user = accounts.authenticate(db.session, "sewanin@example.org", password)
    assert user is not None and user.branches == [branch]


def test_create_user_with_a_given_password_prints_none(runner):
    result = runner.invoke(args=["create-user", "boss@example.org", "--role", "admin",
                                 "--password", "a long enough secret"])
    assert result.exit_code == 0 and "Password" not in result.output
    assert accounts.authenticate(db.session, "boss@example.org", "a long enough secret")


def test_create_user_refusals(runner, make_branch):
    make_branch(slug="hokkaido")
    cases = [
        (["x@example.org", "--role", "superuser"], "superuser"),
        (["x@example.org", "--role", "organizer", "--branch", "nowhere"], "nowhere"),
        (["x@example.org", "--role", "organizer"], "団体が必要です"),
        (["x@example.org", "--role", "admin", "--password", "short"], "8文字以上"),
        (["not-an-email", "--role", "admin"], "メールアドレス"),
        (["nul\x01@example.org", "--role", "admin"], "メールアドレス"),
        (["two@@example.org", "--role", "admin"], "メールアドレス"),
        # an empty password was silently replaced by one nobody was shown
        (["x@example.org", "--role", "admin", "--password", ""], "8文字以上"),
    ]
    for args, text in cases:
        result = runner.invoke(args=["create-user", *args])
        assert result.exit_code != 0, args
        assert text in result.output, (args, result.output)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    runner.invoke(args=["create-user", "x@example.org", "--role", "admin"])
    again = runner.invoke(args=["create-user", "X@example.org", "--role", "admin"])
    assert again.exit_code != 0 and "すでに登録" in again.output


def test_a_full_width_address_is_stored_as_typed_in_ascii(runner):
    result = runner.invoke(args=["create-user", "ｂｏｓｓ＠example.org", "--role", "admin",
                                 "--password", "a long enough secret"])
    assert result.exit_code == 0, result.output
    assert accounts.authenticate(db.session, "boss@example.org", "a long enough secret")


def test_numbers_out_of_range_are_refused_without_a_traceback(runner):
    for args in (["purge-sensitive", "--days", "99999999"],
                 ["purge-sensitive", "--days", "999999999999999999999"],
                 ["materialise-series", "--months", "100000"],
                 ["materialise-series", "--months", "0"],
                 ["materialise-series", "--months", "-3"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)  # click's usage error
        assert "Traceback" not in result.output and "range" in result.output, args


def test_create_token_prints_a_token_that_authenticates(runner, client, make_user):
    user = make_user("organizer")
    result = runner.invoke(args=["create-token", user.email, "--name", "partner"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("tsd_")
    response = client.post("/api/v1/events", json={"branch": user.branches[0].slug},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422  # authenticated: on to validation
    missing = runner.invoke(args=["create-token", "nobody@example.org"])
    assert missing.exit_code != 0


def test_seed_demo_is_idempotent_and_real_looking(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data created." in result.output
    assert "organizer@tsudoi.example" in result.output and "tsudoi-demo-2026" in result.output

    names = list(db.session.scalars(sa.select(Branch.name).order_by(Branch.id)))
    assert names == ["北海道", "東北", "北関東", "東関東", "埼玉", "社連TOKYO", "神奈川", "東海",
                     "北陸信越", "関西", "中国四国", "九州・沖縄"]

    series = db.session.scalar(sa.select(Series))
    assert series.branch.slug == "hokkaido"
    assert recurrence.describe(series.rrule) == "毎月第2・第4土曜"
    assert series.capacity == 40
    assert [(f["label"], f["amount"]) for f in series.fee_template] == [("こども", 0),
                                                                       ("おとな", 300)]
    assert "旭川" in series.venue.address
    occurrences = series.events
    assert len(occurrences) >= 10
    assert all(e.starts_at.astimezone(TOKYO).weekday() == 5 for e in occurrences)

    titles = set(db.session.scalars(sa.select(Event.title)))
    assert {"しごとおこしセミナー in 中志津", "避難者交流会 in ふじみ野",
            "全国達人名人サミット in 富山市山田"} <= titles
    summit = db.session.scalar(sa.select(Event).where(Event.title.like("全国達人名人サミット%")))
    assert summit.ends_at.astimezone(TOKYO).date() > summit.starts_at.astimezone(TOKYO).date()
    assert [f.amount for f in summit.fees] == [2000]
    assert "富山市山田" in summit.venue.address
    screening = db.session.scalar(sa.select(Event).where(Event.kind == "film_screening"))
    assert screening is not None and screening.status == "published"
    assert db.session.scalar(sa.select(sa.func.count(Event.id)).where(
        Event.status == "cancelled")) == 1
    assert all(e.venue and e.venue.address and len(e.venue.postal_code) == 7
               for e in db.session.scalars(sa.select(Event)))

    count = db.session.scalar(sa.select(sa.func.count(Event.id)))
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == count


def test_the_demo_groups_say_whom_to_ask(runner, client):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    branches = list(db.session.scalars(sa.select(Branch)))
    assert all(b.contact_email == f"{b.slug}@tsudoi.example" for b in branches)
    hokkaido = next(b for b in branches if b.slug == "hokkaido")
    assert hokkaido.contact_phone == "0166000000"
    event = db.session.scalar(sa.select(Event).where(Event.branch_id == hokkaido.id,
                                                     Event.status == "published"))
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert '<a href="tel:0166000000">0166-00-0000</a>' in page
    assert '<a href="mailto:hokkaido@tsudoi.example">' in page


def test_the_demo_logins_work(runner, client):
    from gathering.demo import DEMO_LOGINS

    runner.invoke(args=["seed-demo"])
    for role, email, password in DEMO_LOGINS:
        user = accounts.authenticate(db.session, email, password)
        assert user is not None and user.role == role


def test_demo_pages_render(runner, client):
    runner.invoke(args=["seed-demo"])
    page = client.get("/").get_data(as_text=True)
    assert "あさひかわ子ども食堂" in page and "中止" in page
    for event_id in db.session.scalars(sa.select(Event.id)):
        assert client.get(f"/events/{event_id}").status_code == 200
    for slug in db.session.scalars(sa.select(Branch.slug)):
        assert client.get(f"/branches/{slug}").status_code == 200


def test_a_fresh_database_is_set_up_as_make_run_does(tmp_path):
    """flask db upgrade, then seed-demo, on an empty SQLite file: the demo login is printed."""
    import os
    import subprocess
    import sys

    from config import BASE_DIR

    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
               APP_ENV="development", FLASK_APP="wsgi")
    env.pop("TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=BASE_DIR, env=env,
                             capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr
    seeded = subprocess.run([*flask, "seed-demo"], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    assert "organizer@tsudoi.example" in seeded.stdout
    assert (tmp_path / "fresh.sqlite3").exists()


def test_a_command_on_a_database_never_migrated_says_to_upgrade(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'new.sqlite3'}")
    runner = app.test_cli_runner()
    with app.app_context():
        for args in (["create-token", "x@example.org"], ["purge-sensitive"],
                     ["create-branch", "abc", "ABC"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 1, (args, result.output)
            assert "flask --app wsgi db upgrade" in result.output, args
            assert result.exception is None or isinstance(result.exception, SystemExit)
        db.session.remove()
        db.engine.dispose()
