"""Japanese and English are complete: no untranslated or fuzzy entry in either catalog.

Each engineer translates their own msgids (scripts/catalog.py update, missing, apply,
compile); these tests stay red until every msgid in the code has its Japanese.
"""

import importlib.util

from babel.messages.pofile import read_po

from config import BASE_DIR


def load_catalog_script():
    spec = importlib.util.spec_from_file_location("catalog_script",
                                                  BASE_DIR / "scripts" / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_untranslated_or_fuzzy_entries():
    problems = load_catalog_script().check()
    assert not problems, f"{len(problems)} catalog problems, e.g.:\n" + "\n".join(problems[:20])


def test_every_string_of_the_code_is_in_the_catalog(tmp_path):
    """A string added to the code without ``catalog.py update`` would show in English on a
    Japanese page, and the completeness check above would not see it."""
    missing = load_catalog_script().stale(tmp_path)
    assert not missing, (f"{len(missing)} msgids not in the catalog (run scripts/catalog.py "
                         "update, missing, apply), e.g.:\n" + "\n".join(missing[:20]))


def test_placeholders_survive_translation():
    """A Japanese string must keep every %(name)s of its msgid, or formatting fails at run time."""
    import re

    with open(BASE_DIR / "translations/ja/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale="ja")
    broken = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)", ids[-1]))
        for text in strings:
            if text and set(re.findall(r"%\((\w+)\)", text)) != wanted:
                broken.append((ids[0], text))
    assert not broken, broken


def test_key_words_read_as_residents_expect():
    with open(BASE_DIR / "translations/ja/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale="ja")
    assert catalog["Cancelled"].string == "中止"
    assert catalog["Children's cafeteria"].string == "子ども食堂"
    assert catalog["free"].string == "無料"
    assert "満席" in catalog["Full — waiting list"].string
    assert "残りわずか" in catalog.get("Few seats left (%(num)d)").string[0]
