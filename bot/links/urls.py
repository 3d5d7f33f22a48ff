"""Marketplace links: which item a URL names, if any.

A pasted link becomes an ``ItemRef`` only when its host is on the allow-list
(the marketplaces and their subdomains) or is a shopping agent's own domain
wrapping such a link (``bot.links.agents``). Hosts are normalised the way a
browser would (NFKC, IDNA dots, lower case, one trailing dot) and then matched
exactly or by ``"." + domain``; user-info, backslashes, non-default ports, IP
literals and schemes other than http(s) are refused outright, since parsers
disagree on them.

Short links (``m.tb.cn``, ``e.tb.cn``, …) name no item by themselves; they are
resolved by ``bot.links.short_links``. Finding links in a message is ``bot.links.message``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from bot.items.item import ItemRef, Platform
from bot.links import agents

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
# shares; ``k.youshop10.com`` is Weidian's; ``qr.1688.com`` is 1688's. The
# agents' own (``ikako.vip``, …) come from their rows: their redirects are
# read, not followed, unless they lead to another short link or a marketplace.
SHORT_LINK_HOSTS: frozenset[str] = (
    frozenset({"m.tb.cn", "e.tb.cn", "s.tb.cn", "tb.cn", "k.youshop10.com", "qr.1688.com"})
    | agents.agent_short_hosts()
)

# Nested URLs (agent → marketplace) are followed at most this many times.
MAX_NESTING = 2

_MAX_URL_LENGTH = 4096
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HOST_CHARS = re.compile(r"[a-z0-9.-]+")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_ITEM_ID = re.compile(r"[1-9][0-9]{0,19}")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class SplitUrl(NamedTuple):
    """A URL that passed the structural checks, with its host normalised."""

    scheme: str
    host: str
    path: str
    query: str
    fragment: str


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
    # Every blank but the space and every control character is unprintable:
    # most links are decided without a look at each character.
    unsure = " " in url or not url.isprintable()
    if unsure and any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
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
# a.m.taobao.com/i{id}.htm, and the same old mobile form on a.m.tmall.com
_A_M_ITEM = re.compile(r"/i(\d{1,20})\.htm")
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
        by_path = _WORLD_ITEM.fullmatch(path) or _A_M_ITEM.fullmatch(path)
        if by_path is not None:
            return Platform.TMALL, by_path.group(1)
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
    short_form = _A_M_ITEM.fullmatch(path)
    if short_form is not None:
        return Platform.TAOBAO, short_form.group(1)
    world = _WORLD_ITEM.fullmatch(path)
    if world is not None:
        return Platform.TAOBAO, world.group(1)
    if "idlefish" in path:
        # Xianyu's old H5 pages live on market.m.taobao.com.
        return Platform.GOOFISH, params.get("id") or params.get("itemid")
    return Platform.TAOBAO, params.get("id") if path in _TAOBAO_ITEM_PAGES else None


def as_https(url: str) -> str:
    """A short link as it will be requested: scheme-less or http → https."""
    url = url.strip()
    scheme = _SCHEME.match(url)
    if scheme is None:
        return "https://" + url
    return "https" + url[scheme.end(1) :]
