"""Keep the translation catalogs in step with the code.

    python scripts/catalog.py update            extract msgids, update ja and en (.po)
    python scripts/catalog.py missing [FILE]    untranslated ja msgids as a JSON skeleton
    python scripts/catalog.py apply FILE        fill ja msgstrs from {msgid: text | [forms]}
    python scripts/catalog.py compile           build the .mo files
    python scripts/catalog.py check             fail on untranslated or fuzzy entries

English msgids are English text, so the en catalog's msgstr is the msgid itself (filled by
`update`); Japanese is translated by hand. Every step holds a lock so several people (or
agents) updating at once do not overwrite each other.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("ja", "en")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


@contextmanager
def locked():
    TRANSLATIONS.mkdir(exist_ok=True)
    with open("/tmp/tsudoi-catalog.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path, locale: str):
    with open(path, "rb") as f:
        return read_po(f, locale=locale)


def _write(path: Path, catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False,
                 include_previous=False, ignore_obsolete=True)


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)


def extract(pot: Path = POT) -> None:
    """Every msgid of the code and templates into ``pot``."""
    # --ignore-dirs replaces Babel's default, which also skips "_"-directories such as
    # templates/_macros (their strings would silently stay English).
    _pybabel("extract", "-F", "babel.cfg", "--ignore-dirs", ".* node_modules __pycache__",
             "-k", "_l", "-k", "lazy_gettext",
             "-k", "lazy_ngettext:1,2", "--no-location", "--sort-by-file", "--omit-header",
             "-o", str(pot), ".")


def stale(tmp_dir: Path) -> list[str]:
    """msgids in the code that the Japanese catalog lacks (``update`` not run since)."""
    pot = tmp_dir / "current.pot"
    extract(pot)
    with pot.open("rb") as f:
        in_code = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    in_ja = {m.id if isinstance(m.id, str) else m.id[0] for m in _read(po_path("ja"), "ja")
             if m.id}
    return sorted(in_code - in_ja)


def update() -> None:
    extract()
    for locale in LOCALES:
        if not po_path(locale).exists():
            _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale)
        _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale,
                 "--no-fuzzy-matching", "--ignore-obsolete")
    en = _read(po_path("en"), "en")
    for message in en:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(message.id)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    _write(po_path("en"), en)
    # One layout for both catalogs (pybabel wraps at 76 columns, apply writes at 100).
    _write(po_path("ja"), _read(po_path("ja"), "ja"))


def missing() -> dict:
    ja = _read(po_path("ja"), "ja")
    out = {}
    for message in ja:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not all(message.string or ()):
                out[message.id[0]] = [""]
        elif not message.string or "fuzzy" in message.flags:
            out[message.id] = ""
    return out


def apply(mapping: dict) -> int:
    ja = _read(po_path("ja"), "ja")
    count = 0
    for message in ja:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key not in mapping or not mapping[key]:
            continue
        value = mapping[key]
        if isinstance(message.id, tuple):
            forms = value if isinstance(value, list) else [value]
            message.string = tuple(forms[:1])  # Japanese has one plural form
        else:
            message.string = value[0] if isinstance(value, list) else value
        message.flags.discard("fuzzy")
        count += 1
    _write(po_path("ja"), ja)
    return count


def compile_all() -> None:
    for locale in LOCALES:
        catalog = _read(po_path(locale), locale)
        with open(po_path(locale).with_suffix(".mo"), "wb") as f:
            write_mo(f, catalog, use_fuzzy=False)


def check() -> list[str]:
    problems = []
    for locale in LOCALES:
        for message in _read(po_path(locale), locale):
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if "fuzzy" in message.flags:
                problems.append(f"{locale}: fuzzy: {message.id!r}")
            elif not all(strings):
                problems.append(f"{locale}: untranslated: {message.id!r}")
    return problems


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "help"
    with locked():
        if command == "update":
            update()
        elif command == "missing":
            data = json.dumps(missing(), ensure_ascii=False, indent=1)
            if len(argv) > 2:
                Path(argv[2]).write_text(data, encoding="utf-8")
            else:
                print(data)
        elif command == "apply":
            mapping = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
            print(f"{apply(mapping)} entries translated")
        elif command == "compile":
            compile_all()
        elif command == "check":
            problems = check()
            print("\n".join(problems) or "catalogs complete")
            return 1 if problems else 0
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
