"""Shopping-agent links: which marketplace item an agent's product page wraps.

People paste links from purchasing agents (Kakobuy, CNFans, Hoobuy, …) rather
than marketplace URLs. Each agent is one table entry: its own domains and the
forms its product pages take. A form either names the item directly
(platform spelling + id, in the query, the hash route or the path) or carries a
full marketplace URL, which the caller re-parses through the same allow-list
as a pasted link (see ``bot.links.urls``). Nothing here scans free text for URLs:
only the named parameters and path shapes of an agent's own domains count.

Adding an agent is one ``Agent(...)`` entry in ``AGENTS`` and one test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from bot.items.item import ItemRef, Platform

# How agents spell a marketplace in words; numeric codes differ per agent and
# live in each entry's ``spelling``.
_WORDS: Mapping[str, Platform] = {
    "taobao": Platform.TAOBAO,
    "tb": Platform.TAOBAO,
    "tmall": Platform.TMALL,
    "weidian": Platform.WEIDIAN,
    "micro": Platform.WEIDIAN,
    "wd": Platform.WEIDIAN,
    "1688": Platform.ALI1688,
    "ali_1688": Platform.ALI1688,
    "ali1688": Platform.ALI1688,
    "alibaba": Platform.ALI1688,
    "al": Platform.ALI1688,
    "goofish": Platform.GOOFISH,
    "xianyu": Platform.GOOFISH,
    "xy": Platform.GOOFISH,
}

# Hoobuy-family numeric codes in ``/product/{code}/{id}``.
_HOOBUY_CODES: Mapping[str, Platform] = {
    "0": Platform.ALI1688,
    "1": Platform.TAOBAO,
    "2": Platform.WEIDIAN,
}

_ITEM_ID = re.compile(r"[1-9][0-9]{0,19}")
_MAX_PARAM_DECODES = 3
_ANY_PATH = re.compile(r".*", re.DOTALL)


@dataclass(frozen=True)
class NestedUrl:
    """A full marketplace URL found inside an agent link, still to be checked."""

    url: str


@dataclass(frozen=True)
class UrlParam:
    """The agent page carries the marketplace URL in one of these parameters."""

    names: tuple[str, ...] = ("url",)


@dataclass(frozen=True)
class IdParams:
    """The agent page names (platform, id) in query or hash-route parameters."""

    id_names: tuple[str, ...] = ("id",)
    platform_names: tuple[str, ...] = ("shop_type", "shoptype", "platform")
    path: re.Pattern[str] = _ANY_PATH


@dataclass(frozen=True)
class PathForm:
    """The agent page names the item in its path.

    ``pattern`` matches the whole path with a named group ``id`` and either a
    group ``platform`` (looked up in the spelling) or a fixed ``platform``.
    """

    pattern: re.Pattern[str]
    platform: Platform | None = None


Form = UrlParam | IdParams | PathForm


@dataclass(frozen=True)
class Agent:
    """One purchasing agent: its own domains, page forms and platform spelling."""

    name: str
    domains: tuple[str, ...]
    forms: tuple[Form, ...]
    spelling: Mapping[str, Platform] = field(default_factory=dict)

    def platform(self, word: str) -> Platform | None:
        key = word.strip().lower()
        return self.spelling.get(key) or _WORDS.get(key)


def _path(pattern: str, platform: Platform | None = None) -> PathForm:
    return PathForm(re.compile(pattern, re.IGNORECASE), platform)


_PRODUCT_PATH = _path(r"/(?:m/)?products?/(?P<platform>[a-z0-9_]{1,10})/(?P<id>\d{1,20})/?")
# CNFans-family product pages: ``/product/``, ``/fr/product/``, the mobile
# ``/pages/product/product``; a shop page with the same parameters is no item.
_CNFANS_PRODUCT = IdParams(path=re.compile(r"(?:/[\w-]+)*/product/?", re.IGNORECASE))

AGENTS: tuple[Agent, ...] = (
    Agent("Kakobuy", ("kakobuy.com",), (UrlParam(),)),
    Agent("Hagobuy", ("hagobuy.com",), (UrlParam(),)),
    Agent("Superbuy", ("superbuy.com",), (UrlParam(),)),
    Agent("Wegobuy", ("wegobuy.com",), (UrlParam(),)),
    Agent("AllChinaBuy", ("allchinabuy.com",), (UrlParam(),)),
    Agent("Pandabuy", ("pandabuy.com",), (UrlParam(),)),
    Agent("CNFans", ("cnfans.com",), (_CNFANS_PRODUCT,)),
    Agent("Mulebuy", ("mulebuy.com",), (_CNFANS_PRODUCT,)),
    Agent("Joyagoo", ("joyagoo.com",), (_CNFANS_PRODUCT,)),
    Agent("Joyabuy", ("joyabuy.com",), (_CNFANS_PRODUCT,)),
    Agent("Orientdig", ("orientdig.com",), (_CNFANS_PRODUCT,)),
    Agent(
        "ACBuy",
        ("acbuy.com",),
        (IdParams(platform_names=("source", "shop_type", "platform")), UrlParam()),
    ),
    Agent(
        "CSSBuy",
        ("cssbuy.com",),
        (
            _path(r"/item-micro-(?P<id>\d{1,20})(?:\.html?)?", Platform.WEIDIAN),
            _path(r"/item-1688-(?P<id>\d{1,20})(?:\.html?)?", Platform.ALI1688),
            _path(r"/item-(?P<id>\d{1,20})(?:\.html?)?", Platform.TAOBAO),
        ),
    ),
    Agent("Sugargoo", ("sugargoo.com", "esugargoo.com"), (UrlParam(("productlink", "url")),)),
    Agent("Fishgoo", ("fishgoo.com",), (UrlParam(("productlink", "url")),)),
    Agent("Hoobuy", ("hoobuy.com",), (_PRODUCT_PATH,), _HOOBUY_CODES),
    Agent(
        "Oopbuy",
        ("oopbuy.com",),
        (_PRODUCT_PATH, IdParams(platform_names=("channel",)), UrlParam()),
        _HOOBUY_CODES,
    ),
    Agent("Hipobuy", ("hipobuy.com",), (_PRODUCT_PATH,), _HOOBUY_CODES),
    # USFans numbers its marketplaces its own way (3 is Weidian); 4 and 5 are
    # the codes its newer pages use for 1688 and Taobao.
    Agent(
        "USFans",
        ("usfans.com",),
        (_PRODUCT_PATH, UrlParam()),
        {
            "1": Platform.ALI1688,
            "2": Platform.TAOBAO,
            "3": Platform.WEIDIAN,
            "4": Platform.ALI1688,
            "5": Platform.TAOBAO,
        },
    ),
    Agent(
        "Basetao",
        ("basetao.com",),
        (
            _path(
                r"(?:/[a-z0-9-]+)?/products/agent/(?P<platform>[a-z0-9_]{1,10})/"
                r"(?P<id>\d{1,20})\.html?"
            ),
        ),
    ),
    Agent(
        "LoveGoBuy",
        ("lovegobuy.com",),
        (IdParams(id_names=("id", "goodsid")),),
    ),
    Agent("Loongbuy", ("loongbuy.com",), (UrlParam(),)),
    Agent(
        "Litbuy",
        ("litbuy.com",),
        (IdParams(platform_names=("channel", "platform")), _PRODUCT_PATH, UrlParam()),
    ),
)


def agent_domains() -> tuple[str, ...]:
    """Every agent domain, for the link pre-check and the bare-link scanner."""
    return tuple(domain for agent in AGENTS for domain in agent.domains)


def find_agent(host: str) -> Agent | None:
    """The agent whose own domain (or a subdomain of it) ``host`` is.

    ``host`` must already be normalised (lower case, no trailing dot).
    """
    for agent in AGENTS:
        for domain in agent.domains:
            if host == domain or host.endswith("." + domain):
                return agent
    return None


def decode(agent: Agent, path: str, query: str, fragment: str) -> ItemRef | NestedUrl | None:
    """The item an agent page names, or the marketplace URL it wraps."""
    params = _route_params(query, fragment)
    route_path = _route_path(path, fragment)
    for form in agent.forms:
        found = _decode_form(agent, form, route_path, params)
        if found is not None:
            return found
    return None


def _decode_form(
    agent: Agent, form: Form, paths: tuple[str, ...], params: Mapping[str, str]
) -> ItemRef | NestedUrl | None:
    if isinstance(form, UrlParam):
        for name in form.names:
            nested = _nested_url(params.get(name))
            if nested is not None:
                return NestedUrl(nested)
        return None
    if isinstance(form, IdParams):
        if not any(form.path.fullmatch(path) for path in paths):
            return None
        item_id = next((params[n] for n in form.id_names if n in params), None)
        word = next((params[n] for n in form.platform_names if n in params), None)
        platform = agent.platform(word) if word is not None else None
        return _ref(platform, item_id)
    for path in paths:
        match = form.pattern.fullmatch(path)
        if match is None:
            continue
        groups = match.groupdict()
        platform = form.platform
        if platform is None and groups.get("platform") is not None:
            platform = agent.platform(groups["platform"])
        return _ref(platform, groups.get("id"))
    return None


def _ref(platform: Platform | None, item_id: str | None) -> ItemRef | None:
    if platform is None or item_id is None or not _ITEM_ID.fullmatch(item_id):
        return None
    return ItemRef(platform=platform, item_id=item_id)


def _route_params(query: str, fragment: str) -> dict[str, str]:
    """Query parameters, then those of a hash route (``#/p?productLink=…``).

    Keys are lower-cased: agents spell them ``shop_type``, ``shoptype``,
    ``productLink``; the first occurrence wins.
    """
    params: dict[str, str] = {}
    sources = [query]
    if "?" in fragment:
        sources.append(fragment.split("?", 1)[1])
    for source in sources:
        for key, value in parse_qsl(source.replace("&amp;", "&"), keep_blank_values=True):
            params.setdefault(key.lower(), value)
    return params


def _route_path(path: str, fragment: str) -> tuple[str, ...]:
    """The page path, and the hash route's path for single-page agents."""
    paths = [path]
    if fragment.startswith("/"):
        paths.append(fragment.split("?", 1)[0])
    return tuple(paths)


def _nested_url(value: str | None) -> str | None:
    """A wrapped URL, undoing the extra percent-encoding some agents add.

    Sugargoo and Fishgoo double-encode ``productLink``; one decode already
    happened while parsing the query.
    """
    if not value:
        return None
    for _ in range(_MAX_PARAM_DECODES):
        if value.lower().startswith(("http://", "https://")):
            return value
        if "%" not in value:
            return None
        value = unquote(value)
    return None
