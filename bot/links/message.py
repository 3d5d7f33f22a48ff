"""Links in a message: the items it names, in order, within bounds.

Candidates come from ``url`` and ``text_link`` entities (UTF-16 offsets, as
Telegram counts them) and from bare links in the text, including the share
text of the marketplace apps. Each is identified by ``bot.links.urls``; short
links are resolved by ``bot.links.short_links``.
"""

from __future__ import annotations

import asyncio
import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.items.item import ItemRef
from bot.links import agents
from bot.links.urls import (
    MARKETPLACE_DOMAINS,
    SHORT_LINK_HOSTS,
    as_https,
    is_short_link,
    on_domains,
    parse_item_url,
)

if TYPE_CHECKING:
    from bot.links.short_links import ShortLinkResolver

# A message never costs more than this many candidate URLs to inspect.
MAX_CANDIDATES = 50
# At most this many short links of one message are resolved.
MAX_SHORT_LINKS = 10


def _keyword_domains() -> tuple[str, ...]:
    hosts = (*MARKETPLACE_DOMAINS, *agents.agent_domains(), *SHORT_LINK_HOSTS)
    return tuple(sorted(set(hosts), key=len, reverse=True))


# Every host name a link could be on, lower case; all of them hold a dot.
_KEYWORDS = _keyword_domains()
# URL characters in chat text: printable ASCII minus quotes and brackets that
# delimit a link; any non-ASCII character (「, CJK, emoji) ends the link.
_URL_CHARS = r"[!#-&(-;=?-~]"
# A link with a scheme, or a bare host name followed by an optional path;
# bare hosts are kept only when they are on a known domain.
_BARE_LINK = re.compile(
    rf"https?://{_URL_CHARS}+"
    rf"|(?<![\w.@/:%-])(?P<host>(?:[a-z0-9-]+\.)+[a-z]{{2,24}})(?![\w-])\.?"
    rf"(?:[:/?#]{_URL_CHARS}*)?",
    re.IGNORECASE | re.ASCII,
)
_TRAILING = ".,;:!?*'\"_~"
# Telegram's own link detection runs a url entity on to the next blank, so
# "…?id=1，有货吗" or "…?id=1🔥" arrive as one entity; the link is its head.
_LINK_HEAD = re.compile(f"{_URL_CHARS}*", re.ASCII)
_BRACKETS = {")": "(", "]": "["}
# Characters that show nothing: a zero-width space a chat app slipped in, a
# soft hyphen from a web page, a word joiner, a bidi mark. A link runs on
# across them, so an item id is never cut short at one (``id=7381\u200b04529617``
# is item 738104529617, never item 7381).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]"
)


@dataclass(frozen=True)
class LinkEntity:
    """A Telegram message entity; offsets are UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass
class FoundLinks:
    """Items named directly in a message, and short links still to resolve."""

    refs: list[ItemRef]
    short_links: list[str]


@dataclass
class CollectedItems:
    """What to look up (``items``), what is over the limit, what did not open.

    ``untried`` counts the short links past ``MAX_SHORT_LINKS``: not opened,
    so not known as items, but over the limit all the same.
    """

    items: list[ItemRef]
    skipped: list[ItemRef]
    unresolved: int
    untried: int = 0


def might_hold_link(text: str | None, entities: Sequence[LinkEntity]) -> bool:
    """A cheap pre-check for every group message: could it name an item?

    Never false when ``find_links`` would find something.
    """
    for entity in entities:
        if entity.type in ("url", "text_link"):
            return True
    if not text or "." not in text:
        return False
    # Plain substring tests beat a regex alternation several times over here.
    lowered = _visible(text)[0].lower()
    return any(keyword in lowered for keyword in _KEYWORDS)


def _utf16_index(text: str) -> list[int] | None:
    """Python index of each UTF-16 code unit; None when they coincide."""
    if not text or max(text) <= "\uffff":
        return None
    index: list[int] = []
    for position, char in enumerate(text):
        index.append(position)
        if ord(char) > 0xFFFF:
            index.append(position)
    index.append(len(text))
    return index


def _visible(text: str) -> tuple[str, list[int] | None]:
    """``text`` without invisible characters, and the index in ``text`` of each one kept.

    None for the indices when nothing was dropped (nearly always).
    """
    if not _INVISIBLE.search(text):
        return text, None
    kept = [position for position, char in enumerate(text) if not _INVISIBLE.match(char)]
    return "".join(text[position] for position in kept), kept


def _entity_candidates(
    text: str, entities: Sequence[LinkEntity], visible: str, kept: list[int] | None
) -> list[tuple[int, str]]:
    """The entities' links, at their positions in ``visible`` (``text`` by ``_visible``)."""
    found: list[tuple[int, str]] = []
    index = _utf16_index(text) if text else None
    units = len(index) - 1 if index is not None else len(text)
    for entity in entities:
        if entity.type not in ("url", "text_link"):
            continue
        offset, length = entity.offset, entity.length
        if not isinstance(offset, int) or not isinstance(length, int):
            continue
        if offset < 0 or length <= 0 or offset > units:
            continue
        end_unit = min(offset + length, units)
        start = index[offset] if index is not None else offset
        end = index[end_unit] if index is not None else end_unit
        if kept is not None:
            # Telegram may end the entity at an invisible character: the link runs on.
            cut = end < len(text) and _INVISIBLE.match(text, end) is not None
            start = bisect.bisect_left(kept, start)
            end = len(visible) if cut else bisect.bisect_left(kept, end)
        if entity.type == "text_link":
            if isinstance(entity.url, str):
                found.append((start, _INVISIBLE.sub("", entity.url)))
        else:
            head = _LINK_HEAD.match(visible, start, end)
            found.append((start, _trim(head.group() if head else "")))
    return found


def _trim(link: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets after a link."""
    while link:
        last = link[-1]
        opening = _BRACKETS.get(last)
        if last in _TRAILING or (opening and link.count(opening) < link.count(last)):
            link = link[:-1]
        else:
            break
    return link


def _candidates(text: str | None, entities: Sequence[LinkEntity]) -> list[str]:
    text = text or ""
    visible, kept = _visible(text)
    found = _entity_candidates(text, entities, visible, kept)
    taken = {position for position, _ in found}
    bare = 0
    for match in _BARE_LINK.finditer(visible):
        host = match.group("host")
        if host is not None and not on_domains(host.lower(), _KEYWORDS):
            continue
        if match.start() not in taken:
            found.append((match.start(), _trim(match.group())))
        bare += 1
        if bare >= MAX_CANDIDATES:
            break
    found.sort(key=lambda candidate: candidate[0])
    return [url for _, url in found[:MAX_CANDIDATES]]


def _scan(text: str | None, entities: Sequence[LinkEntity]) -> list[ItemRef | str]:
    """Items and short links in order of appearance, each once."""
    sequence: list[ItemRef | str] = []
    seen: set[str] = set()
    for url in _candidates(text, entities):
        try:
            ref = parse_item_url(url)
            short = None if ref is not None or not is_short_link(url) else as_https(url)
        except Exception:  # odd input must never break a message; skip the link
            continue
        if ref is not None and ref.key not in seen:
            seen.add(ref.key)
            sequence.append(ref)
        elif short is not None and short not in seen:
            seen.add(short)
            sequence.append(short)
    return sequence


def find_links(text: str | None, entities: Sequence[LinkEntity]) -> FoundLinks:
    """Items and short links in a message's text (or caption) and entities."""
    sequence = _scan(text, entities)
    return FoundLinks(
        refs=[entry for entry in sequence if isinstance(entry, ItemRef)],
        short_links=[entry for entry in sequence if isinstance(entry, str)],
    )


async def collect_items(
    text: str | None,
    entities: Sequence[LinkEntity],
    resolver: ShortLinkResolver | None,
    limit: int,
) -> CollectedItems:
    """The distinct items a message names, short links resolved, in order.

    The first ``limit`` are to be looked up; the rest are named as skipped.
    ``unresolved`` counts short links that did not lead to an item.
    """
    sequence = _scan(text, entities)
    every_short = list(dict.fromkeys(entry for entry in sequence if isinstance(entry, str)))
    shorts = every_short[:MAX_SHORT_LINKS]
    resolved: dict[str, ItemRef | None] = dict.fromkeys(shorts)
    if resolver is not None and shorts:
        results = await asyncio.gather(
            *(resolver.resolve(url) for url in shorts), return_exceptions=True
        )
        for url, result in zip(shorts, results, strict=True):
            resolved[url] = result if isinstance(result, ItemRef) else None
    unresolved = sum(1 for ref in resolved.values() if ref is None)
    merged: list[ItemRef] = []
    seen: set[str] = set()
    for entry in sequence:
        ref = entry if isinstance(entry, ItemRef) else resolved.get(entry)
        if ref is not None and ref.key not in seen:
            seen.add(ref.key)
            merged.append(ref)
    limit = max(limit, 0)
    return CollectedItems(
        items=merged[:limit],
        skipped=merged[limit:],
        unresolved=unresolved,
        untried=len(every_short) - len(shorts),
    )
