"""The export-money operator command."""

from __future__ import annotations

from gathering.extensions import db
from gathering.fees import services as fees


def test_export_money_prints_the_month_as_csv(runner, cafeteria, make_registration, admit, now,
                                              organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    result = runner.invoke(args=["export-money", "2026-12", "--branch", "asahi"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    text = result.stdout_bytes.decode("utf-8-sig")
    assert "子ども食堂" in text and "令和8年12月12日" in text and ",300," in text


def test_export_money_refuses_bad_arguments(runner, cafeteria):
    assert runner.invoke(args=["export-money", "2026-13"]).exit_code == 2
    assert runner.invoke(args=["export-money", "2026-12", "--branch", "nope"]).exit_code == 2


def test_export_money_prints_the_fiscal_year_with_its_total(runner, cafeteria, make_registration,
                                                            admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    result = runner.invoke(args=["export-money", "--year", "2026", "--branch", "asahi"])
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and "令和8年12月12日" in lines[1]
    assert lines[2].startswith("合計,令和8年度,2026,") and lines[2].endswith(",1,1,1,1")
    assert runner.invoke(args=["export-money", "--year", "26"]).exit_code == 2
    assert runner.invoke(args=["export-money", "2026-12", "--year", "2026"]).exit_code == 2
