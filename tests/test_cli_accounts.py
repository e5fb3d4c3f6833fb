"""Operator commands of a fresh install: groups (create-branch, update-branch) and accounts
(set-password, update-user), with clear refusals and no traceback."""

import sqlalchemy as sa

from gathering.accounts import services as accounts
from gathering.accounts.models import Branch
from gathering.extensions import db
from tests.conftest import PASSWORD


def branch(slug: str) -> Branch | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Branch).where(Branch.slug == slug))


def refused(result, text: str) -> None:
    assert result.exit_code != 0, result.output
    assert text in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_fresh_install_creates_a_group_then_its_organizer(runner, client, auth):
    result = runner.invoke(args=[
        "create-branch", "asahikawa", "あさひかわ子ども食堂", "--region", "北海道",
        "--issuer-name", "あさひかわ子ども食堂実行委員会",
        "--issuer-address", "北海道旭川市１条通８丁目"])
    assert result.exit_code == 0, result.output
    assert "Created group asahikawa" in result.output
    made = branch("asahikawa")
    assert (made.name, made.region, made.issuer_name) == (
        "あさひかわ子ども食堂", "北海道", "あさひかわ子ども食堂実行委員会")
    assert made.issuer_address == "北海道旭川市1条通8丁目"  # normalised (NFKC)

    result = runner.invoke(args=["create-user", "sewa@example.jp", "--role", "organizer",
                                 "--branch", "asahikawa", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert client.get("/branches/asahikawa").status_code == 200


def test_create_branch_refusals(runner, make_branch):
    make_branch(slug="asahikawa")
    db.session.commit()
    refused(runner.invoke(args=["create-branch", "asahikawa", "別の団体"]), "asahikawa")
    refused(runner.invoke(args=["create-branch", "Bad Slug!", "団体"]), "slug")
    refused(runner.invoke(args=["create-branch", "ends-with-", "団体"]), "slug")
    refused(runner.invoke(args=["create-branch", "x" * 61, "団体"]), "slug")
    refused(runner.invoke(args=["create-branch", "kushiro", "   "]), "名前")
    refused(runner.invoke(args=["create-branch", "kushiro", "団体",
                                "--issuer-address", "あ" * 301]), "300")
    assert branch("kushiro") is None


def test_update_branch_changes_only_what_is_given(runner, make_branch):
    made = make_branch(slug="asahikawa", name="旭川", issuer_address="旭川市")
    db.session.commit()
    result = runner.invoke(args=["update-branch", "asahikawa",
                                 "--issuer-name", "あさひかわ実行委員会", "--stamp-note"])
    assert result.exit_code == 0, result.output
    assert "あさひかわ実行委員会" in result.output
    made = branch("asahikawa")
    assert (made.name, made.issuer_name, made.issuer_address, made.receipt_stamp_note) == (
        "旭川", "あさひかわ実行委員会", "旭川市", True)
    result = runner.invoke(args=["update-branch", "asahikawa", "--issuer-name", "",
                                 "--no-stamp-note"])
    assert result.exit_code == 0, result.output
    made = branch("asahikawa")
    assert made.issuer_name == "" and made.receipt_stamp_note is False
    refused(runner.invoke(args=["update-branch", "asahikawa", "--name", ""]), "名前")
    refused(runner.invoke(args=["update-branch", "nowhere", "--name", "x"]), "nowhere")
    assert branch("asahikawa").name == "旭川"


def test_set_password_asks_twice_hidden_and_the_new_one_works(runner, make_user):
    user = make_user("organizer")
    result = runner.invoke(args=["set-password", user.email],
                           input="a new long secret\na new long secret\n")
    assert result.exit_code == 0, result.output
    assert "a new long secret" not in result.output  # hidden
    assert accounts.authenticate(db.session, user.email, "a new long secret") is not None
    assert accounts.authenticate(db.session, user.email, PASSWORD) is None


def test_set_password_refusals(runner, make_user):
    user = make_user("organizer")
    # two different entries: asked again, and the end of input gives up
    mismatch = runner.invoke(args=["set-password", user.email],
                             input="a new long secret\nsomething else\n")
    assert mismatch.exit_code != 0
    refused(runner.invoke(args=["set-password", user.email, "--password", "short"]), "8文字以上")
    refused(runner.invoke(args=["set-password", "nobody@example.org", "--password",
                                "long enough here"]), "nobody@example.org")
    db.session.expire_all()
    assert accounts.authenticate(db.session, user.email, PASSWORD) is not None


def test_update_user_changes_role_branches_and_can_lock_an_account(runner, client, auth,
                                                                   make_user, make_branch):
    first, second = make_branch(slug="asahikawa"), make_branch(slug="kushiro")
    db.session.commit()
    user = make_user("volunteer", branches=[first])
    result = runner.invoke(args=["update-user", user.email, "--role", "organizer",
                                 "--branch", "kushiro"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert user.role == "organizer" and [b.slug for b in user.branches] == ["kushiro"]
    assert user.can_manage_branch(second.id) and not user.can_staff_branch(first.id)

    refused(runner.invoke(args=["update-user", user.email, "--branch", "nowhere"]), "nowhere")
    refused(runner.invoke(args=["update-user", "nobody@example.org", "--role", "admin"]),
            "nobody@example.org")

    assert runner.invoke(args=["update-user", user.email, "--inactive"]).exit_code == 0
    auth.login(user)
    assert client.get("/organizer/").status_code in (302, 401)
    assert runner.invoke(args=["update-user", user.email, "--active"]).exit_code == 0
    auth.login(user)
    assert client.get("/organizer/").status_code == 200


def test_an_admin_made_organizer_needs_a_branch(runner, make_user):
    admin = make_user("admin")
    refused(runner.invoke(args=["update-user", admin.email, "--role", "organizer"]),
            "団体が必要です")
    db.session.expire_all()
    assert admin.role == "admin"


def test_a_groups_contact_is_set_changed_and_cleared_from_the_command_line(runner,
                                                                           make_branch):
    result = runner.invoke(args=["create-branch", "asahikawa", "あさひかわ子ども食堂",
                                 "--contact-phone", "0166-12-3456",
                                 "--contact-email", "Info@Asahikawa.example.jp"])
    assert result.exit_code == 0, result.output
    assert "contact: phone 0166-12-3456, e-mail info@asahikawa.example.jp" in result.output
    made = branch("asahikawa")
    assert (made.contact_phone, made.contact_email) == ("0166123456",
                                                        "info@asahikawa.example.jp")

    result = runner.invoke(args=["update-branch", "asahikawa", "--contact-phone",
                                 "０９０ー１２３４ー５６７８"])
    assert result.exit_code == 0, result.output
    assert "contact: phone 090-1234-5678, e-mail info@asahikawa.example.jp" in result.output
    result = runner.invoke(args=["update-branch", "asahikawa", "--contact-email", ""])
    assert result.exit_code == 0, result.output
    assert "contact: phone 090-1234-5678, e-mail -" in result.output
    made = branch("asahikawa")
    assert (made.contact_phone, made.contact_email) == ("09012345678", "")


def test_a_contact_that_reaches_nobody_is_refused_in_one_line(runner, make_branch):
    make_branch(slug="asahikawa", contact_phone="0166123456")
    db.session.commit()
    refused(runner.invoke(args=["create-branch", "kushiro", "くしろ食堂",
                                "--contact-phone", "12345"]), "--contact-phone")
    refused(runner.invoke(args=["create-branch", "kushiro", "くしろ食堂",
                                "--contact-email", "info.example.jp"]),
            "メールアドレスではありません")
    assert branch("kushiro") is None
    refused(runner.invoke(args=["update-branch", "asahikawa", "--contact-phone", "090-12"]),
            "日本の電話番号ではありません")
    assert branch("asahikawa").contact_phone == "0166123456"
