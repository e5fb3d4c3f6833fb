"""Japanese input rules: NFKC, kana, phone numbers and postal codes."""

import pytest

from gathering import japanese as jp


@pytest.mark.parametrize("typed, digits, shown", [
    ("090-1234-5678", "09012345678", "090-1234-5678"),
    ("０９０ー１２３４ー５６７８", "09012345678", "090-1234-5678"),  # full-width, katakana dash
    ("080 1234 5678", "08012345678", "080-1234-5678"),
    ("070‐1234‐5678", "07012345678", "070-1234-5678"),
    ("060-1234-5678", "06012345678", "060-1234-5678"),  # mobiles since 2024
    ("050-1234-5678", "05012345678", "050-1234-5678"),  # IP phones
    ("+81 90 1234 5678", "09012345678", "090-1234-5678"),
    ("(03) 1234-5678", "0312345678", "03-1234-5678"),
    ("0166-12-3456", "0166123456", "0166-12-3456"),
    ("0120-123-456", "0120123456", "0120-123-456"),
    ("090.1234.5678", "09012345678", "090-1234-5678"),  # written with dots
    ("０９０．１２３４．５６７８", "09012345678", "090-1234-5678"),
])
def test_phone_numbers_are_normalised_validated_and_shown_the_japanese_way(typed, digits, shown):
    assert jp.normalize_phone(typed) == digits
    assert jp.is_valid_phone(digits)
    assert jp.format_phone(digits) == shown


@pytest.mark.parametrize("typed", [
    "", "abc", "012-345", "090-1234-567", "090-1234-56789", "1" * 10_000, "０００００００００００",
    "090-1234-5678; DROP TABLE", "<script>",
])
def test_bad_phone_numbers_are_refused(typed):
    assert not jp.is_valid_phone(jp.normalize_phone(typed))


def test_phone_validity_comes_from_the_numbering_plan_not_a_prefix_list():
    import inspect

    source = inspect.getsource(jp)
    assert '"060"' not in source and '"090"' not in source and '"050"' not in source


def test_format_phone_leaves_foreign_or_empty_numbers_alone():
    assert jp.format_phone("") == ""
    assert jp.format_phone("12") == "12"


@pytest.mark.parametrize("typed, stored", [
    ("やまだ", "ヤマダ"),
    ("ﾔﾏﾀﾞ", "ヤマダ"),
    ("ヤマダ", "ヤマダ"),
    ("  やまだ　はなこ ", "ヤマダ ハナコ"),
    ("ジャン＝ポール", "ジャン゠ポール"),  # the full-width ＝ of foreign names, NFKC's "="
    ("じゃん=ぽーる", "ジャン゠ポール"),
    ("ジャン゠ポール", "ジャン゠ポール"),
    ("マリア・テレサ", "マリア・テレサ"),
])
def test_furigana_is_stored_as_full_width_katakana(typed, stored):
    assert jp.to_katakana(typed) == stored
    assert jp.is_katakana(stored)


def test_nfkc_unifies_width_and_the_wave_dash():
    assert jp.normalize_text("ＡＢＣ１２３") == "ABC123"
    assert jp.normalize_text("11:00～14:00") == "11:00〜14:00"
    assert jp.normalize_text("11:00〜14:00") == "11:00〜14:00"
    assert jp.normalize_text("a\x00b\x1bc") == "abc"
    assert jp.normalize_text(None) == ""
    assert jp.normalize_name("山田\n 太郎\t") == "山田 太郎"


def test_search_key_folds_kana_width_and_case():
    assert jp.search_key("ヤマダ") == jp.search_key("やまだ") == jp.search_key("ﾔﾏﾀﾞ")
    assert jp.search_key("Yamada Hanako") == "yamadahanako"


def test_latin_names_are_recognised():
    assert jp.is_latin_name("Maria Santos")
    assert jp.is_latin_name("O'Brien")
    # as phones type them: the curly apostrophe of iOS, a Unicode hyphen
    for name in ("O’Brien", "D‘Souza", "Jean‐Luc", "St. Clair"):
        assert jp.is_latin_name(name), name
    assert not jp.is_latin_name("山田")
    # the accents of Vietnamese, German, Spanish, French names are Latin letters too
    for name in ("Nguyễn", "Thị Lan", "Müller", "Jürgen", "Cañete", "François", "Nguye\u0303n"):
        assert jp.is_latin_name(name), name
    for name in ("Kim 민수", "王", "Ana1", "-Ana", "Олег"):
        assert not jp.is_latin_name(name), name
    assert not jp.is_latin_name("")


@pytest.mark.parametrize("typed", ["070-0031", "〒070-0031", "０７０ー００３１", "070 0031", "0700031"])
def test_postal_codes(typed):
    digits = jp.normalize_postal_code(typed)
    assert digits == "0700031"
    assert jp.is_valid_postal_code(digits)
    assert jp.format_postal_code(digits) == "〒070-0031"


@pytest.mark.parametrize("typed", ["", "070-003", "070-00311", "abc-defg", "1" * 10_000])
def test_bad_postal_codes(typed):
    assert not jp.is_valid_postal_code(jp.normalize_postal_code(typed))


@pytest.mark.parametrize("registered, typed", [("髙橋", "高橋"), ("山﨑", "山崎"),
                                               ("渡邊", "渡辺"), ("渡邉", "渡辺"),
                                               ("齋藤", "斎藤"), ("澤田", "沢田")])
def test_search_key_finds_a_variant_kanji_either_way(registered, typed):
    assert jp.search_key(typed) in jp.search_key(registered + "花子")
    assert jp.search_key(registered) in jp.search_key(typed + " 花子")


def test_search_key_keeps_different_names_apart():
    assert jp.search_key("斎藤") != jp.search_key("斉藤")  # two families, not two spellings
    assert jp.search_key("高橋") != jp.search_key("高梨")
