"""Marketplace links in a message: which items it names.

A pasted link becomes an ``ItemRef`` only when its host is on the allow-list
(SPEC §2) or is a shopping agent's own domain wrapping such a link
(``bot.agents``). Hosts are normalised the way a browser would (NFKC, IDNA
dots, lower case, one trailing dot) and then matched exactly or by ``"." +
domain``; user-info, backslashes, non-default ports, IP literals and schemes
other than http(s) are refused outright, since parsers disagree on them.

Short links (``m.tb.cn``, ``e.tb.cn``, …) name no item by themselves; they are
collected here and resolved by ``bot.shortlinks``.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl, unquote

from bot import agents
from bot.item import ItemRef, Platform

if TYPE_CHECKING:
    from bot.shortlinks import ShortLinkResolver

# Accepted marketplace domains (and their subdomains). ``tmall.hk`` only
# serves Tmall Global item pages; it is matched through the same rules.
MARKETPLACE_DOMAINS: tuple[str, ...] = (
    "taobao.com",
    "tmall.com",
    "tmall.hk",
    "weidian.com",
    "1688.com",
    "goofish.com",
)

# Short-link hosts, matched exactly. ``m.tb.cn`` also serves Xianyu (Goofish)
# shares; ``k.youshop10.com`` is Weidian's; ``qr.1688.com`` is 1688's.
SHORT_LINK_HOSTS: frozenset[str] = frozenset(
    {"m.tb.cn", "e.tb.cn", "s.tb.cn", "tb.cn", "k.youshop10.com", "qr.1688.com"}
)

# A message never costs more than this many candidate URLs to inspect.
MAX_CANDIDATES = 50
# Nested URLs (agent → marketplace) are followed at most this many times.
MAX_NESTING = 2
# At most this many short links of one message are resolved.
MAX_SHORT_LINKS = 10

_MAX_URL_LENGTH = 4096
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HOST_CHARS = re.compile(r"[a-z0-9.-]+")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_ITEM_ID = re.compile(r"[1-9][0-9]{0,19}")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


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
    """What to look up (``items``), what is over the limit, what did not open."""

    items: list[ItemRef]
    skipped: list[ItemRef]
    unresolved: int


class SplitUrl(NamedTuple):
    """A URL that passed the structural checks, with its host normalised."""

    scheme: str
    host: str
    path: str
    query: str
    fragment: str


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
    lowered = text.lower()
    return any(keyword in lowered for keyword in _KEYWORDS)


def normalize_host(host: str) -> str | None:
    """The host as a browser would look it up, or None if it is no DNS name.

    IP literals are refused: an accepted host always ends in an alphabetic
    top-level label.
    """
    if not host or len(host) > 512:
        return None
    host = unicodedata.normalize("NFKC", host).translate(_DOTS).lower()
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if len(host) > 253 or not _HOST_CHARS.fullmatch(host):
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if not _TLD.fullmatch(labels[-1]):
        return None
    return host


def split_url(url: str) -> SplitUrl | None:
    """Structural checks shared by every link: scheme, authority, host.

    A link without a scheme (``item.taobao.com/…``) is taken as https.
    """
    url = url.strip()
    if not url or len(url) > _MAX_URL_LENGTH or "\\" in url:
        return None
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return None
    scheme_match = _SCHEME.match(url)
    if scheme_match is None:
        scheme, rest = "https", url
    else:
        scheme = scheme_match.group(1).lower()
        rest = url[scheme_match.end() :]
        if scheme not in _DEFAULT_PORTS or not rest.startswith("//") or rest[2:3] == "/":
            return None
        rest = rest[2:]
    authority_end = len(rest)
    for separator in "/?#":
        position = rest.find(separator)
        if position != -1:
            authority_end = min(authority_end, position)
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority or "[" in authority or "%" in authority:
        return None
    host, _, port = authority.partition(":")
    if port and port != _DEFAULT_PORTS[scheme]:
        return None
    normalized = normalize_host(host)
    if normalized is None:
        return None
    tail, _, fragment = tail.partition("#")
    path, _, query = tail.partition("?")
    return SplitUrl(scheme, normalized, path or "/", query, fragment)


def on_domains(host: str, domains: Sequence[str]) -> bool:
    """Whether a normalised host is one of ``domains`` or a subdomain of one."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def is_marketplace_host(host: str) -> bool:
    """Whether a normalised host is on the marketplace allow-list."""
    return on_domains(host, MARKETPLACE_DOMAINS)


def is_short_link(url: str) -> bool:
    """Whether ``url`` is a link on a short-link host that names some page."""
    parts = split_url(url)
    return parts is not None and parts.host in SHORT_LINK_HOSTS and len(parts.path) > 1


def parse_item_url(url: str) -> ItemRef | None:
    """One marketplace or agent URL → the item it names, or None."""
    return _parse(url, 0)


def _parse(url: str, depth: int) -> ItemRef | None:
    parts = split_url(url)
    if parts is None:
        return None
    if is_marketplace_host(parts.host):
        return _marketplace_item(parts)
    agent = agents.find_agent(parts.host)
    if agent is None:
        return None
    found = agents.decode(agent, parts.path, parts.query, parts.fragment)
    if isinstance(found, agents.NestedUrl):
        return _parse(found.url, depth + 1) if depth < MAX_NESTING else None
    return found


def _params(path: str, query: str) -> tuple[str, dict[str, str]]:
    """The path and lower-cased query parameters, first occurrence winning.

    Pasted links sometimes carry percent-encoded separators
    (``item.htm%3Fid%3D1``, ``spm=x%26id%3D1``) or HTML-escaped ``&amp;``;
    their decoded form is consulted after the plain one.
    """
    params: dict[str, str] = {}
    path = unquote(path)
    if "?" in path:
        path, _, extra = path.partition("?")
        query = f"{query}&{extra}" if query else extra
    for source in (query, unquote(query)):
        for key, value in parse_qsl(source.replace("&amp;", "&"), keep_blank_values=True):
            params.setdefault(key.lower(), value)
    return path.lower(), params


_TAOBAO_ITEM_PAGES = frozenset(
    {
        "/item.htm",
        "/item.html",
        "/detail/detail.html",
        "/detail/detail.htm",
        "/awp/core/detail.htm",
        "/detail/index.html",
        "/security-h5-detail/home",
    }
)
_TMALL_ITEM_PAGES = frozenset({"/item.htm", "/item.html", "/item_o.htm", "/hk/item.htm"})
_WEIDIAN_ITEM_PAGES = frozenset({"/item.html", "/item.htm"})
_A_M_TAOBAO = re.compile(r"/i(\d{1,20})\.htm")
_WORLD_ITEM = re.compile(r"(?:/list)?/item/(\d{1,20})\.html?")
_OFFER = re.compile(r"/offer/(\d{1,20})\.html?")
_GOOFISH_PATH = re.compile(r"/item/(\d{1,20})/?")


def _marketplace_item(parts: SplitUrl) -> ItemRef | None:
    path, params = _params(parts.path, parts.query)
    platform, item_id = _identify(parts.host, path, params)
    if platform is None or item_id is None or not _ITEM_ID.fullmatch(item_id):
        return None
    sku = params.get("skuid")
    sku_id = sku if sku is not None and _ITEM_ID.fullmatch(sku) else None
    return ItemRef(platform=platform, item_id=item_id, sku_id=sku_id)


def _identify(host: str, path: str, params: dict[str, str]) -> tuple[Platform | None, str | None]:
    if on_domains(host, ("2.taobao.com",)):
        # Second-hand listings are Goofish's family, though the host says taobao.
        return Platform.GOOFISH, params.get("id") if path in _TAOBAO_ITEM_PAGES else None
    if on_domains(host, ("taobao.com",)):
        return _taobao(host, path, params)
    if on_domains(host, ("tmall.com", "tmall.hk")):
        world = _WORLD_ITEM.fullmatch(path)
        if world is not None:
            return Platform.TMALL, world.group(1)
        return Platform.TMALL, params.get("id") if path in _TMALL_ITEM_PAGES else None
    if on_domains(host, ("1688.com",)):
        offer = _OFFER.fullmatch(path)
        if offer is not None:
            return Platform.ALI1688, offer.group(1)
        if path in ("/page/index.htm", "/page/index.html"):
            return Platform.ALI1688, params.get("offerid")
        return None, None
    if on_domains(host, ("weidian.com",)):
        return Platform.WEIDIAN, params.get("itemid") if path in _WEIDIAN_ITEM_PAGES else None
    if on_domains(host, ("goofish.com",)):
        by_path = _GOOFISH_PATH.fullmatch(path)
        if by_path is not None:
            return Platform.GOOFISH, by_path.group(1)
        if path in ("/item", "/item/"):
            return Platform.GOOFISH, params.get("id") or params.get("itemid")
    return None, None


def _taobao(host: str, path: str, params: dict[str, str]) -> tuple[Platform | None, str | None]:
    short_form = _A_M_TAOBAO.fullmatch(path)
    if short_form is not None:
        return Platform.TAOBAO, short_form.group(1)
    world = _WORLD_ITEM.fullmatch(path)
    if world is not None:
        return Platform.TAOBAO, world.group(1)
    if "idlefish" in path:
        # Xianyu's old H5 pages live on market.m.taobao.com.
        return Platform.GOOFISH, params.get("id") or params.get("itemid")
    return Platform.TAOBAO, params.get("id") if path in _TAOBAO_ITEM_PAGES else None


def _utf16_index(text: str) -> list[int] | None:
    """Python index of each UTF-16 code unit; None when they coincide."""
    if all(ord(char) <= 0xFFFF for char in text):
        return None
    index: list[int] = []
    for position, char in enumerate(text):
        index.append(position)
        if ord(char) > 0xFFFF:
            index.append(position)
    index.append(len(text))
    return index


def _entity_candidates(text: str, entities: Sequence[LinkEntity]) -> list[tuple[int, str]]:
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
        if entity.type == "text_link":
            if isinstance(entity.url, str):
                found.append((start, entity.url))
        else:
            found.append((start, text[start:end]))
    return found


def _trim(link: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets after a link."""
    while link:
        last = link[-1]
        if last in _TRAILING or (last == ")" and link.count("(") < link.count(")")):
            link = link[:-1]
        else:
            break
    return link


def _candidates(text: str | None, entities: Sequence[LinkEntity]) -> list[str]:
    text = text or ""
    found = _entity_candidates(text, entities)
    taken = {position for position, _ in found}
    bare = 0
    for match in _BARE_LINK.finditer(text):
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


def _https(url: str) -> str:
    """A short link as it will be requested: scheme-less or http → https."""
    url = url.strip()
    scheme = _SCHEME.match(url)
    if scheme is None:
        return "https://" + url
    return "https" + url[scheme.end(1) :]


def _scan(text: str | None, entities: Sequence[LinkEntity]) -> list[ItemRef | str]:
    """Items and short links in order of appearance, each once."""
    sequence: list[ItemRef | str] = []
    seen: set[str] = set()
    for url in _candidates(text, entities):
        try:
            ref = parse_item_url(url)
            short = None if ref is not None or not is_short_link(url) else _https(url)
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
    shorts = [entry for entry in sequence if isinstance(entry, str)][:MAX_SHORT_LINKS]
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
    return CollectedItems(items=merged[:limit], skipped=merged[limit:], unresolved=unresolved)
