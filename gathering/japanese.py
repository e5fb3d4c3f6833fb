"""Rules of Japanese input: NFKC, kana, phone numbers and postal codes.

Everything people type goes through here before it is stored, so one person's ０９０ー１２３４
and another's 090-1234 end up the same.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv
import phonenumbers

# Wave dash (U+301C) and fullwidth tilde (U+FF5E) are typed interchangeably; NFKC turns the
# latter into "~", which reads wrong in Japanese text.
_WAVE = str.maketrans({"～": "〜", "〰": "〜"})
# Hyphen-like characters people type in numbers.
_DASHES = "-‐‑‒–—―−ーｰ－"
_KATAKANA_RE = re.compile(r"^[\u30A0-\u30FF\u3000 ]*$")


def normalize_text(value: str | None) -> str:
    """NFKC, wave dash unified, control characters dropped, outer spaces trimmed."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", value.translate(_WAVE)).replace("~", "〜")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()


def normalize_name(value: str | None) -> str:
    """A name: NFKC (full-width Latin to ASCII, half-width kana to full-width), one line."""
    text = normalize_text(value).replace("\n", " ").replace("\t", " ")
    text = text.replace("〜", "")
    return re.sub(r"\s+", " ", text).strip()


def to_katakana(value: str | None) -> str:
    """フリガナ as stored: full-width katakana, whether typed in hiragana, katakana or ｶﾀｶﾅ."""
    text = normalize_name(value)  # NFKC already makes half-width kana full-width
    # ジャン＝ポール: NFKC turns the full-width ＝ into "=", katakana writes it ゠
    return jaconv.hira2kata(text).replace("=", "゠")


def to_hiragana(value: str | None) -> str:
    """For kana-insensitive search: everything folded to hiragana."""
    return jaconv.kata2hira(normalize_name(value))


def is_katakana(value: str) -> bool:
    return bool(value) and bool(_KATAKANA_RE.match(value))


def is_latin_name(value: str) -> bool:
    """A name written in Latin letters, accented ones included (Nguyễn, Müller, Cañete):
    its フリガナ is then optional."""
    if not value or not _is_latin_letter(value[0]):
        return False
    return all(c in _NAME_PUNCTUATION or _is_latin_letter(c)
               or unicodedata.category(c) == "Mn" for c in value)


#: what Latin names are written with besides letters: O'Brien as a phone types it (the
#: curly ’ of iOS, ʼ), Jean-Luc with any hyphen, St. Clair
_NAME_PUNCTUATION = frozenset(" .'’‘ʼ-‐‑")


def _is_latin_letter(char: str) -> bool:
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


#: Old and variant forms of kanji common in family names (異体字), as their everyday form,
#: so that a volunteer typing 高橋 finds the 髙橋 a parent registered, and the reverse. Only
#: search folds them: a name is stored and printed as its owner wrote it.
NAME_VARIANTS = {
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "澤": "沢", "濱": "浜",
    "濵": "浜", "齋": "斎", "齊": "斉", "嶋": "島", "嶌": "島", "廣": "広", "國": "国",
    "櫻": "桜", "德": "徳", "瀨": "瀬", "眞": "真", "惠": "恵", "條": "条", "藏": "蔵",
    "實": "実", "榮": "栄", "與": "与", "壽": "寿", "曻": "昇", "冨": "富", "舘": "館",
    "淵": "渕", "淺": "浅", "槇": "槙", "杦": "杉", "栁": "柳", "﨔": "欅",
}
_NAME_VARIANTS = str.maketrans(NAME_VARIANTS)


def search_key(value: str | None) -> str:
    """A folded form for matching names: NFKC, hiragana, lower case, no spaces, and the
    variant kanji of ``NAME_VARIANTS`` as their everyday form."""
    return re.sub(r"\s+", "", to_hiragana(value)).lower().translate(_NAME_VARIANTS)


def normalize_phone(value: str | None) -> str:
    """Digits only, as typed in Japan (0 prefix kept); "" if nothing was typed.

    Full-width digits, any hyphen-like character and dots (090.1234.5678) are accepted;
    +81 becomes 0.
    """
    text = normalize_text(value)
    for dash in _DASHES:
        text = text.replace(dash, "")
    text = re.sub(r"[\s()（）.]", "", text)
    if text.startswith("+81"):
        text = "0" + text[3:]
    return text


def is_valid_phone(digits: str) -> bool:
    """A number of the Japanese numbering plan (mobile, IP, landline, free dial).

    Validity comes from the phonenumbers metadata, so a newly opened prefix (060 since 2024)
    is a library update, not a code change.
    """
    if not digits.isdigit() or not 10 <= len(digits) <= 11:
        return False
    try:
        number = phonenumbers.parse(digits, "JP")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def format_phone(digits: str) -> str:
    """090-1234-5678, 03-1234-5678, 0166-12-3456; unchanged if it is not a Japanese number."""
    if not digits:
        return ""
    try:
        number = phonenumbers.parse(digits, "JP")
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_valid_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def normalize_postal_code(value: str | None) -> str:
    """〒123-4567, １２３４５６７ or 123 4567 → 1234567 (validity is checked separately)."""
    text = normalize_text(value).replace("〒", "")
    for dash in _DASHES:
        text = text.replace(dash, "")
    return re.sub(r"\s", "", text)


def is_valid_postal_code(digits: str) -> bool:
    return len(digits) == 7 and digits.isdigit()


def format_postal_code(digits: str) -> str:
    return f"〒{digits[:3]}-{digits[3:]}" if is_valid_postal_code(digits) else digits
