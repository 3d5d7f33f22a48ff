"""Shopping-agent links, both ways: which item an agent page names, and the
agent page of an item.

The agents themselves are data (``bot.links.agent_table``, one row each);
this module finds the row for a host and applies its forms. Only an agent's
own domains and their subdomains count: ``kakobuy.com.evil.com`` and
``evil-kakobuy.com`` are nobody. A wrapped marketplace URL comes back as a
``NestedUrl`` for the caller to re-parse through the marketplace allow-list
(``bot.links.urls``); nothing here scans text for URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import parse_qsl

from bot.items.item import ItemRef, Platform
from bot.links.agent_forms import Agent, NestedUrl, Route
from bot.links.agent_table import AGENTS

__all__ = [
    "AGENTS",
    "Agent",
    "NestedUrl",
    "agent_domains",
    "agent_short_hosts",
    "agent_url",
    "by_slug",
    "decode",
    "find_agent",
    "marketplace_url",
]

_BY_HOST: Mapping[str, Agent] = {host: agent for agent in AGENTS for host in agent.hosts}
_BY_SLUG: Mapping[str, Agent] = {agent.slug: agent for agent in AGENTS}
_CANONICAL: Mapping[Platform, str] = {
    platform: ItemRef(platform=platform, item_id="{id}").canonical_url for platform in Platform
}
# Hosts are matched label by label from the right: at most this many labels
# are tried, so a hostile host of 120 labels costs no more than a usual one.
_MAX_LABELS = 6


def agent_domains() -> tuple[str, ...]:
    """Every agent domain, for the link pre-check and the bare-link scanner."""
    return tuple(_BY_HOST)


def agent_short_hosts() -> frozenset[str]:
    """The agents' short-link hosts, matched exactly (resolved like ``m.tb.cn``)."""
    return frozenset(host for agent in AGENTS for host in agent.short_hosts)


def by_slug(slug: str) -> Agent | None:
    """The agent named ``slug`` (``kakobuy``), case and blanks ignored."""
    return _BY_SLUG.get(slug.strip().lower())


def find_agent(host: str) -> Agent | None:
    """The agent whose own domain (or a subdomain of it) ``host`` is.

    ``host`` must already be normalised (lower case, no trailing dot).
    """
    labels = host.split(".")
    for start in range(max(len(labels) - _MAX_LABELS, 0), len(labels) - 1):
        agent = _BY_HOST.get(".".join(labels[start:]))
        if agent is not None:
            return agent
    return None


def decode(agent: Agent, path: str, query: str, fragment: str) -> ItemRef | NestedUrl | None:
    """The item an agent page names, or the marketplace URL it wraps."""
    route = Route(_route_path(path, fragment), _route_params(query, fragment))
    for form in agent.forms:
        found = form.read(route, agent.spelling)
        if found is not None:
            return found
    return None


def marketplace_url(ref: ItemRef) -> str:
    """The item on its marketplace, naming the chosen variant (``skuId``) if any."""
    return _marketplace_url(ref.platform, ref.item_id, ref.sku_id)


def _marketplace_url(platform: Platform, item_id: str, sku_id: str | None) -> str:
    url = _CANONICAL[platform].format(id=item_id)
    if not sku_id or platform is Platform.GOOFISH:
        return url
    return f"{url}{'&' if '?' in url else '?'}skuId={sku_id}"


def agent_url(agent: Agent, ref: ItemRef, referral: str | None = None) -> str | None:
    """The item's page on ``agent`` (with the operator's ``referral`` code when
    the agent takes one), or None when the agent cannot carry this marketplace.

    Tmall items go in an agent's Taobao form when it has no Tmall one: the
    agents buy them through Taobao, where their ids are the same.
    """
    return _agent_url(agent.slug, ref.platform, ref.item_id, ref.sku_id, referral)


# Cards are drawn again on every tap: the links of the items shown lately are kept.
@lru_cache(maxsize=4096)
def _agent_url(
    slug: str, platform: Platform, item_id: str, sku_id: str | None, referral: str | None
) -> str | None:
    agent = _BY_SLUG[slug]
    form = agent.writer(platform)
    if form is None and platform is Platform.TMALL:
        platform = Platform.TAOBAO
        form = agent.writer(platform)
    if form is None:
        return None
    pairs = [(agent.referral, referral)] if agent.referral and referral else []
    wrapped = _marketplace_url(platform, item_id, sku_id if form.carries_sku() else None)
    return form.write(wrapped, platform, item_id, pairs)


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
