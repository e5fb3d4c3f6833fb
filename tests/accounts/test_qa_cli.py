"""Operator commands that said what was not so: demo logins printed for a database that has
none, a token printed for a locked account without a word, names longer than their column."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.accounts import services as accounts
from gathering.accounts.models import ApiToken, User
from gathering.demo import DEMO_LOGINS, DEMO_PASSWORD
from gathering.extensions import db


def one_line_refusal(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert text in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_seed_demo_on_a_database_of_real_groups_prints_no_demo_login(runner, make_user):
    make_user("organizer")  # a real group and its organizer: seed-demo leaves them alone
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert DEMO_PASSWORD not in result.output
    assert not any(email in result.output for _role, email, _pw in DEMO_LOGINS)


def test_seed_demo_again_prints_only_the_demo_logins_that_still_work(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    admin = DEMO_LOGINS[2][1]
    changed = runner.invoke(args=["set-password", admin, "--password", "another-secret-1"])
    assert changed.exit_code == 0, changed.output
    assert runner.invoke(args=["update-user", DEMO_LOGINS[1][1], "--inactive"]).exit_code == 0

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    assert f"{DEMO_LOGINS[0][1]}  /  {DEMO_PASSWORD}" in again.output  # still works
    assert admin not in again.output  # its password is another now
    assert DEMO_LOGINS[1][1] not in again.output  # locked out


def test_create_token_for_an_inactive_account_says_the_api_refuses_it(runner, client,
                                                                       make_user):
    user = make_user("organizer")
    accounts.update_user(db.session, user, is_active=False)
    db.session.commit()

    result = runner.invoke(args=["create-token", user.email])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]  # still the last line of stdout
    assert token.startswith("tsd_")
    assert "inactive" in result.stderr and "--active" in result.stderr
    answer = client.get("/api/v1/events/999999/registrations",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401  # what the note warned of

    active = make_user("organizer")
    quiet = runner.invoke(args=["create-token", active.email])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_a_token_name_longer_than_its_column_is_refused_in_one_line(runner, make_user):
    user = make_user("volunteer")
    result = runner.invoke(args=["create-token", user.email, "--name", "受付" * 61])
    one_line_refusal(result, "--name")
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0
    fits = runner.invoke(args=["create-token", user.email, "--name", "受付" * 60])
    assert fits.exit_code == 0, fits.output


def test_create_user_keeps_a_name_as_update_user_does(runner, make_branch):
    make_branch("asahikawa")
    db.session.commit()  # the refusal below rolls back what is not
    long = runner.invoke(args=["create-user", "a@example.org", "--role", "organizer",
                               "--branch", "asahikawa", "--password", "longenough",
                               "--name", "あ" * 121])
    one_line_refusal(long, "--name")
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0

    made = runner.invoke(args=["create-user", "b@example.org", "--role", "organizer",
                               "--branch", "asahikawa", "--password", "longenough",
                               "--name", "  旭川\u3000花子\n"])
    assert made.exit_code == 0, made.output
    assert accounts.get_user_by_email(db.session, "b@example.org").name == "旭川 花子"


def test_a_slug_is_found_however_the_operator_types_it(runner):
    made = runner.invoke(args=["create-branch", "Asa", "あさひ子ども食堂"])
    assert made.exit_code == 0 and "group asa:" in made.output, made.output
    user = runner.invoke(args=["create-user", "v@example.jp", "--role", "volunteer",
                               "--branch", "ASA", "--password", "long-enough-1"])
    assert user.exit_code == 0, user.output
    changed = runner.invoke(args=["update-branch", "ａｓａ", "--region", "北海道"])
    assert changed.exit_code == 0, changed.output
    assert [b.slug for b in accounts.get_user_by_email(db.session, "v@example.jp").branches] \
        == ["asa"]


def test_update_user_refuses_a_name_longer_than_its_column(runner, make_user):
    user = make_user("organizer")
    assert runner.invoke(args=["update-user", user.email, "--name", "山田 花子"]).exit_code == 0
    result = runner.invoke(args=["update-user", user.email, "--name", "名" * 121])
    one_line_refusal(result, "120")
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "山田 花子"
