"""Fixtures of the sign-up tests: a valid sign-up payload to vary."""

from __future__ import annotations

import copy

import pytest


@pytest.fixture
def signup():
    """signup(**contact_overrides, attendees=[...]) → a valid sign-up dict (API shape)."""

    def _make(attendees=None, consent=True, message="", **contact):
        base = {"family_name": "山田", "given_name": "花子", "family_name_kana": "やまだ",
                "given_name_kana": "はなこ", "phone": "090-1234-5678",
                "email": "hanako@example.jp"}
        base.update(contact)
        return copy.deepcopy({
            "contact": base,
            "attendees": attendees if attendees is not None else [
                {"category": "adult", "name": "", "allergens": [], "diets": [], "note": ""},
                {"category": "child", "name": "太郎", "allergens": ["egg", "milk"],
                 "diets": [], "note": ""}],
            "consent": consent, "message": message})

    return _make
