"""The gettext catalogs: extraction from the code, and what a catalog must hold.

``python -m scripts.catalogs update`` re-extracts the messages into every
``locales/<lang>/LC_MESSAGES/messages.po`` (new ones untranslated, English
filled with the msgid; existing translations kept). ``python -m scripts.catalogs
check`` fails when extraction is stale (a message missing or obsolete), a
translation is missing or fuzzy, a plural message lacks one of the language's
forms, placeholders or HTML markup differ from the msgid, or a catalog would
not compile.
"""

from __future__ import annotations

import io
import re
import sys
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
SOURCES = ("bot", "handlers")
DOMAIN = "messages"
SOURCE_LOCALE = "en"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None}
# str.format fields and %-style fields: both reach users when they go untranslated.
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([a-z_]+\)[sd]|%[sd]")
# Telegram parses the bot's text as HTML: a lost or misspelt tag is a refused message.
MARKUP = re.compile(r"</?[a-z-]+(?:\s[^<>]*)?>|&[a-z]+;|&#[0-9]+;")
HEADER_COMMENT = (
    "# CatBuy bot interface texts ({language}).\n# Updated with: python -m scripts.catalogs update"
)

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


def locales(root: Path = LOCALES) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / "LC_MESSAGES").is_dir())


def po_path(lang: str, root: Path = LOCALES) -> Path:
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(lang: str, root: Path = LOCALES) -> Catalog | None:
    """The catalog of ``lang`` as committed, or None when it has no ``.po`` yet."""
    path = po_path(lang, root)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def _singular(msgid: Msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _forms(string: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if string is None:
        return ("",)
    return string if isinstance(string, tuple) else (string,)


def carried_string(
    msgid: Msgid, old: str | tuple[str, ...] | None, lang: str, plurals: int
) -> Msgid | tuple[str, ...]:
    """What ``update`` writes for ``msgid``: the old translation, shaped to the msgid.

    A plural message gets exactly the language's number of forms (Russian three,
    Chinese one); a message that changed between singular and plural keeps only
    what still fits, so the check flags the rest as untranslated.
    """
    if lang == SOURCE_LOCALE:
        return msgid
    if isinstance(msgid, str):
        forms = _forms(old)
        return forms[0] if len(forms) == 1 else ""
    forms = _forms(old)
    return tuple((list(forms) + [""] * plurals)[:plurals])


def update(root: Path = LOCALES, messages: dict[Msgid, tuple[str, int]] | None = None) -> None:
    """Rewrite every catalog under ``root`` from the code's messages."""
    messages = extracted() if messages is None else messages
    for lang in locales(root):
        old = load(lang, root)
        fresh = Catalog(
            locale=lang,
            domain=DOMAIN,
            project="catbuy-bot",
            version="1",
            header_comment=HEADER_COMMENT.format(language=lang),
            msgid_bugs_address="https://github.com/catbuy/catbuy-bot/issues",
            last_translator="CatBuy bot team",
            language_team=f"CatBuy bot ({lang})",
            # Keep the dates of an existing catalog so an unchanged run leaves no diff.
            creation_date=old.creation_date if old is not None else None,
            revision_date=old.revision_date if old is not None else None,
            fuzzy=False,
        )
        for msgid, (where, line) in messages.items():
            entry = old.get(msgid) if old is not None else None
            previous = entry.string if entry is not None else None
            string = carried_string(msgid, previous, lang, fresh.num_plurals)
            fresh.add(msgid, string, locations=[(where, line)])
        with po_path(lang, root).open("wb") as handle:
            write_po(
                handle,
                fresh,
                width=100,
                omit_header=False,
                sort_output=True,
                include_lineno=False,
                ignore_obsolete=True,
            )
        print(f"{lang}: {len(messages)} messages")


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def markup(text: str) -> Counter[str]:
    return Counter(MARKUP.findall(text))


def check_catalog(
    lang: str, catalog: Catalog | None, messages: dict[Msgid, tuple[str, int]]
) -> list[str]:
    """Everything wrong with one language's catalog, one line a problem."""
    if catalog is None:
        return [f"{lang}: no catalog ({DOMAIN}.po); run: python -m scripts.catalogs update"]
    problems: list[str] = []
    if catalog.fuzzy:
        problems.append(f"{lang}: the catalog header is fuzzy (pybabel compile would skip it)")
    wanted_ids = {_singular(m) for m in messages}
    for entry in catalog:
        if entry.id and _singular(entry.id) not in wanted_ids:
            problems.append(f"{lang}: obsolete (no longer in the code): {_singular(entry.id)!r}")
    for msgid, (where, line) in messages.items():
        problems += _check_message(lang, catalog, msgid, f"{where}:{line}")
    for message, errors in catalog.check():
        problems += [f"{lang}: {error} in {_singular(message.id)!r}" for error in errors]
    try:
        write_mo(io.BytesIO(), catalog)
    except Exception as error:  # any failure to compile means CI must stop
        problems.append(f"{lang}: does not compile: {error}")
    return problems


def _check_message(lang: str, catalog: Catalog, msgid: Msgid, where: str) -> list[str]:
    singular = _singular(msgid)
    entry = catalog.get(msgid)
    if entry is None:
        return [f"{lang}: not extracted ({where}): {singular!r}"]
    if isinstance(msgid, tuple) != isinstance(entry.id, tuple):
        return [f"{lang}: singular/plural changed ({where}): {singular!r}"]
    forms = _forms(entry.string)
    if isinstance(msgid, tuple) and len(forms) != catalog.num_plurals:
        return [f"{lang}: {len(forms)} plural forms, wants {catalog.num_plurals}: {singular!r}"]
    if entry.fuzzy or not all(forms):
        return [f"{lang}: untranslated: {singular!r}"]
    source = " ".join(msgid) if isinstance(msgid, tuple) else msgid
    wanted, tags = set(placeholders(source)), markup(source)
    problems: list[str] = []
    for form in forms:
        if set(placeholders(form)) != wanted:
            problems.append(f"{lang}: placeholders differ in {singular!r}: {form!r}")
        if markup(form) != tags:
            problems.append(f"{lang}: HTML markup differs in {singular!r}: {form!r}")
    return problems


def check(root: Path = LOCALES, messages: dict[Msgid, tuple[str, int]] | None = None) -> list[str]:
    """Problems in every catalog under ``root``; empty when CI may pass."""
    messages = extracted() if messages is None else messages
    problems: list[str] = []
    for lang in locales(root):
        problems += check_catalog(lang, load(lang, root), messages)
    return problems


def main(argv: list[str], root: Path = LOCALES) -> int:
    if argv[1:] == ["update"]:
        update(root)
        return 0
    problems = check(root)
    for problem in problems:
        print(problem)
    print(f"catalogs: {len(problems)} problems in {', '.join(locales(root))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
