"""The shapes of shopping-agent item pages, each read and written by one rule.

An agent's page names a marketplace item in one of three ways, and each form
here both reads a pasted page and writes a page for an item, from the same
fields, so a row of ``bot.links.agent_table`` cannot read one URL and write
another:

- ``WrappedUrl``: a query parameter carries the marketplace URL itself
  (``kakobuy.com/item/details?url=…``); the caller re-parses it through the
  marketplace allow-list, never trusting it.
- ``QueryItem``: query parameters name the marketplace and the id
  (``cnfans.com/product?platform=TAOBAO&id=…``).
- ``PathItem``: the path does (``hoobuy.com/product/1/{id}``,
  ``cssbuy.com/item-micro-{id}.html``).

Pages of single-page agents keep their query in a hash route
(``sugargoo.com/#/home/productDetail?productLink=…``): forms read the route's
path and parameters as well, and a ``page`` with ``#`` writes one.
Nothing here scans free text for URLs: only named parameters and path shapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote, unquote

from bot.items.item import ItemRef, Platform

# How agents spell a marketplace in words, whatever the agent.
WORDS: Mapping[str, Platform] = {
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
# The marketplaces agents buy from; Goofish (second-hand) is written by none.
BUYABLE = frozenset({Platform.TAOBAO, Platform.TMALL, Platform.ALI1688, Platform.WEIDIAN})

ITEM_ID = re.compile(r"[1-9][0-9]{0,19}")
_ANY_PATH = re.compile(r".*", re.DOTALL)
_MAX_PARAM_DECODES = 3

Codes = Mapping[Platform, str]


@dataclass(frozen=True)
class NestedUrl:
    """A full marketplace URL found inside an agent link, still to be checked."""

    url: str


@dataclass(frozen=True)
class Route:
    """What a pasted agent page offers a form: its paths and its parameters."""

    paths: tuple[str, ...]
    params: Mapping[str, str]


def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _with_query(page: str, pairs: list[tuple[str, str]]) -> str:
    query = _query(pairs)
    return f"{page}?{query}" if query else page


def _reading(codes: Codes) -> dict[str, Platform]:
    """An agent's own spelling, read back; Taobao wins a code Tmall shares."""
    read: dict[str, Platform] = {}
    for platform, code in codes.items():
        key = code.lower()
        if key not in read or platform is Platform.TAOBAO:
            read[key] = platform
    return read


@dataclass(frozen=True)
class WrappedUrl:
    """The page carries the marketplace URL in ``param`` (read also from ``also``).

    ``encodings``: how many times the written URL is percent-encoded (Sugargoo
    and Fishgoo encode it twice); reading undoes up to three.
    ``path``: the page paths this form reads; any path by default, since
    agents move their item pages around and the parameter is what counts.
    """

    page: str
    param: str = "url"
    also: tuple[str, ...] = ()
    before: tuple[tuple[str, str], ...] = ()
    encodings: int = 1
    path: re.Pattern[str] = _ANY_PATH
    platforms: frozenset[Platform] = BUYABLE
    writes: bool = True

    def read(self, route: Route, spelling: Mapping[str, Platform]) -> NestedUrl | None:
        if not any(self.path.fullmatch(path) for path in route.paths):
            return None
        for name in (self.param.lower(), *self.also):
            nested = _nested_url(route.params.get(name))
            if nested is not None:
                return NestedUrl(nested)
        return None

    def write(
        self, url: str, platform: Platform, item_id: str, referral: list[tuple[str, str]]
    ) -> str:
        value = url
        for _ in range(self.encodings - 1):
            value = quote(value, safe="")
        return _with_query(self.page, [*self.before, (self.param, value), *referral])

    def carries_sku(self) -> bool:
        return True


@dataclass(frozen=True)
class QueryItem:
    """Query parameters name the item: ``id_param`` and ``platform_param``.

    ``path`` is the page path read (``page``'s own by default); ``ids`` and
    ``platform_names`` are further parameter names read, for older pages.
    """

    page: str
    codes: Codes
    id_param: str = "id"
    platform_param: str = "platform"
    platform_first: bool = False
    path: re.Pattern[str] | None = None
    ids: tuple[str, ...] = ()
    platform_names: tuple[str, ...] = ()
    before: tuple[tuple[str, str], ...] = ()
    writes: bool = True
    spelling: Mapping[str, Platform] = field(init=False, repr=False, compare=False)
    _path: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spelling", _reading(self.codes))
        own = _page_path(self.page)
        object.__setattr__(self, "_path", self.path or _pattern(re.escape(own) + "/?"))

    @property
    def platforms(self) -> frozenset[Platform]:
        return frozenset(self.codes)

    def read(self, route: Route, spelling: Mapping[str, Platform]) -> ItemRef | None:
        if not any(self._path.fullmatch(path) for path in route.paths):
            return None
        params = route.params
        item_id = next((params[n] for n in (self.id_param.lower(), *self.ids) if n in params), None)
        names = (self.platform_param.lower(), *self.platform_names)
        word = next((params[n] for n in names if n in params), None)
        if word is None:
            return None
        return make_ref(_platform(word, self.spelling, spelling), item_id)

    def write(
        self, url: str, platform: Platform, item_id: str, referral: list[tuple[str, str]]
    ) -> str:
        code = self.codes[platform]
        pair = [(self.id_param, item_id), (self.platform_param, code)]
        if self.platform_first:
            pair.reverse()
        return _with_query(self.page, [*self.before, *pair, *referral])

    def carries_sku(self) -> bool:
        return False


@dataclass(frozen=True)
class PathItem:
    """The path names the item: ``template`` with ``{id}`` and ``{code}`` (or a
    fixed ``platform`` and no ``{code}``). ``read_path`` is a regex of the paths
    read, with groups ``id`` and ``code``; by default the template's own path."""

    template: str
    codes: Codes = field(default_factory=dict)
    platform: Platform | None = None
    read_path: str | None = None
    writes: bool = True
    spelling: Mapping[str, Platform] = field(init=False, repr=False, compare=False)
    _path: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spelling", _reading(self.codes))
        source = self.read_path
        if source is None:
            source = re.escape(_page_path(self.template))
            source = source.replace(r"\{id\}", r"(?P<id>\d{1,20})")
            source = source.replace(r"\{code\}", r"(?P<code>[a-z0-9_]{1,10})") + "/?"
        object.__setattr__(self, "_path", _pattern(source))

    @property
    def platforms(self) -> frozenset[Platform]:
        return frozenset({self.platform}) if self.platform else frozenset(self.codes)

    def read(self, route: Route, spelling: Mapping[str, Platform]) -> ItemRef | None:
        for path in route.paths:
            match = self._path.fullmatch(path)
            if match is None:
                continue
            groups = match.groupdict()
            platform = self.platform
            if platform is None and groups.get("code") is not None:
                platform = _platform(groups["code"], self.spelling, spelling)
            return make_ref(platform, groups.get("id"))
        return None

    def write(
        self, url: str, platform: Platform, item_id: str, referral: list[tuple[str, str]]
    ) -> str:
        code = self.codes.get(platform, "")
        page = self.template.format(id=item_id, code=quote(code, safe=""))
        return _with_query(page, referral)

    def carries_sku(self) -> bool:
        return False


Form = WrappedUrl | QueryItem | PathItem


@dataclass(frozen=True)
class Agent:
    """One shopping agent: its hosts, its page forms, its referral parameter.

    ``hosts`` are the agent's own domains (subdomains count); ``short_hosts``
    its short-link hosts, matched exactly and resolved like marketplace short
    links. ``forms`` are tried in order when reading; an item is written in
    the first writing form that can carry its marketplace. ``referral`` is the
    query parameter the operator's code goes in. ``popular`` agents are the
    ones a card offers under "Other agents".
    """

    slug: str
    name: str
    hosts: tuple[str, ...]
    forms: tuple[Form, ...]
    referral: str | None = None
    short_hosts: tuple[str, ...] = ()
    spelling: Mapping[str, Platform] = field(default_factory=dict)
    popular: bool = False

    def writer(self, platform: Platform) -> Form | None:
        """The form an item of ``platform`` is written in, if any."""
        return next((f for f in self.forms if f.writes and platform in f.platforms), None)

    @cached_property
    def platforms(self) -> frozenset[Platform]:
        """The marketplaces this agent's links can be written for."""
        return frozenset(p for f in self.forms if f.writes for p in f.platforms)

    def can_carry(self, platform: Platform) -> bool:
        """Whether an item of ``platform`` can be written (Tmall in a Taobao form too)."""
        platforms = self.platforms
        return platform in platforms or (
            platform is Platform.TMALL and Platform.TAOBAO in platforms
        )


def make_ref(platform: Platform | None, item_id: str | None) -> ItemRef | None:
    if platform is None or item_id is None or not ITEM_ID.fullmatch(item_id):
        return None
    return ItemRef(platform=platform, item_id=item_id)


def _platform(
    word: str, own: Mapping[str, Platform], agent: Mapping[str, Platform]
) -> Platform | None:
    key = word.strip().lower()
    return own.get(key) or agent.get(key) or WORDS.get(key)


def _page_path(page: str) -> str:
    """The path a written page has: ``https://host/a/b`` → ``/a/b``; a hash
    route's path (``https://host/#/p``) → ``/p``."""
    rest = page.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    if "#" in path:
        path = path.split("#", 1)[1] or "/"
    return path.split("?", 1)[0]


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
