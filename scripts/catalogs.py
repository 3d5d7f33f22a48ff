"""The gettext catalogs: extraction from the code, and what a catalog must hold.

``python -m scripts.catalogs update`` re-extracts the messages into every
``locales/<lang>/LC_MESSAGES/messages.po`` (new ones untranslated, English
filled with the msgid). ``python -m scripts.catalogs check`` fails when
extraction is stale, a translation is missing or fuzzy, or placeholders differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
SOURCES = ("bot", "handlers")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"\{[a-z_]*\}|%\(?[a-z_]*\)?[sd]")

Msgid = str | tuple[str, str]


def extracted() -> dict[Msgid, tuple[str, int]]:
    """Every msgid in the code, with one place it is used."""
    found: dict[Msgid, tuple[str, int]] = {}
    for source in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            msgid: Msgid = message if isinstance(message, str) else (message[0], message[1])
            found.setdefault(msgid, (f"{source}/{filename}", lineno))
    return found


def locales() -> list[str]:
    return sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir())


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain="messages")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def update() -> None:
    messages = extracted()
    for lang in locales():
        catalog = load(lang)
        fresh = Catalog(locale=lang, domain="messages", project="catbuy-bot")
        for msgid, where in messages.items():
            old = catalog.get(msgid)
            string = old.string if old is not None else ("" if isinstance(msgid, str) else ("", ""))
            if lang == "en":
                string = msgid if isinstance(msgid, str) else msgid
            fresh.add(msgid, string, locations=[where])
        with po_path(lang).open("wb") as handle:
            write_po(handle, fresh, width=100, omit_header=False, sort_output=True)
        print(f"{lang}: {len(messages)} messages")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def check() -> list[str]:
    problems: list[str] = []
    messages = extracted()
    for lang in locales():
        catalog = load(lang)
        for msgid, (where, line) in messages.items():
            entry = catalog.get(msgid)
            singular = msgid if isinstance(msgid, str) else msgid[0]
            if entry is None:
                problems.append(f"{lang}: not extracted ({where}:{line}): {singular!r}")
                continue
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if entry.fuzzy or not all(strings):
                problems.append(f"{lang}: untranslated: {singular!r}")
                continue
            wanted = placeholders(" ".join(msgid) if isinstance(msgid, tuple) else msgid)
            for string in strings:
                if placeholders(string) != wanted:
                    problems.append(f"{lang}: placeholders differ in {singular!r}: {string!r}")
    return problems


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    print(f"catalogs: {len(problems)} problems in {', '.join(locales())}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
