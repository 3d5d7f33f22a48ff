"""Short links (``m.tb.cn``, ``e.tb.cn``, …) resolved to items, safely.

The resolver only ever talks to known short-link hosts and allow-listed
marketplace hosts, over https: every hop is re-checked before it is requested,
a hop that lands on an item URL ends resolution without requesting it, and at
most ``MAX_REDIRECTS`` redirects are followed. Without a proxy, hosts that
resolve to private or loopback addresses are refused, and the connection goes
to the address that was checked; behind a proxy (``HTTPS_PROXY``…) the proxy
resolves names, so the check is left to it
(``bot.links.public_hosts.PublicAddressTransport``). Results, found or not,
are cached in the store under ``sl:`` keys so a short link is resolved once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from enum import Enum
from urllib.parse import urljoin

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.items.item import ItemRef, Platform
from bot.links.public_hosts import (
    HostResolver,
    PrivateHost,
    PublicAddressTransport,
    UnresolvableHost,
    system_addresses,
)
from bot.links.urls import (
    SHORT_LINK_HOSTS,
    SplitUrl,
    is_marketplace_host,
    parse_item_url,
    split_url,
)

log = logging.getLogger(__name__)

# The first request plus this many redirects.
MAX_REDIRECTS = 3
# Transient failures (timeouts, 5xx) are retried after this long, not a day.
TRANSIENT_TTL = 300

_CACHE_PREFIX = "sl:"
_NOT_FOUND = "-"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Where a page names its item: absolute URLs in scripts, links and meta tags.
_EMBEDDED_URL = re.compile(r"https?:(?://|\\/\\/)[!#-&(-;=?-\[\]-~]+", re.IGNORECASE)
_MAX_EMBEDDED = 200
# m.tb.cn serves its landing page only to browser-like clients.
_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    ),
    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    # A compressed body could inflate far past the cap inside one chunk.
    "Accept-Encoding": "identity",
}


class _Outcome(Enum):
    """Why resolution ended without an item: decides how long to remember it."""

    NOT_FOUND = "not_found"
    TRANSIENT = "transient"


class ShortLinkResolver:
    """Resolves short links to items over https, within strict host rules."""

    def __init__(
        self,
        store: Redis,
        *,
        hop_timeout: float = 3.0,
        max_body: int = 256 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
        verify_dns: bool = True,
        cache_ttl: int = 86400,
        resolve_host: HostResolver | None = None,
    ) -> None:
        self._store = store
        self._hop_timeout = hop_timeout
        self._max_body = max_body
        self._cache_ttl = cache_ttl
        # ``transport`` stands for the network in tests; ``verify_dns=False``
        # sends to it unchecked. The public-address transport honours
        # HTTPS_PROXY/ALL_PROXY/NO_PROXY and SSL_CERT_FILE as httpx does.
        if verify_dns:
            transport = PublicAddressTransport(resolve_host or system_addresses, network=transport)
        # Redirects are followed by hand so that each hop is checked first.
        self._client = httpx.AsyncClient(
            transport=transport,
            trust_env=True,
            follow_redirects=False,
            timeout=httpx.Timeout(hop_timeout),
            headers=_HEADERS,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def resolve(self, url: str) -> ItemRef | None:
        """The item a short link leads to, or None; never raises."""
        try:
            return await self._resolve(url)
        except Exception as exc:  # a link that does not open is an answer, not a crash
            # The type only: messages of URL errors carry the link and its token.
            log.warning("short link resolution failed: %s", type(exc).__name__)
            return None

    async def _resolve(self, url: str) -> ItemRef | None:
        direct = parse_item_url(url)
        if direct is not None:
            return direct
        start = _requestable(url, short_only=True)
        if start is None:
            return None
        key = _CACHE_PREFIX + hashlib.sha256(_unsplit(start).encode()).hexdigest()[:32]
        cached = await self._cached(key)
        if cached is not None:
            return None if cached == _NOT_FOUND else _decode_ref(cached)
        try:
            outcome = await self._follow(start)
        except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL, ValueError) as exc:
            log.warning("short link resolution failed: %s", type(exc).__name__)
            outcome = _Outcome.TRANSIENT
        await self._remember(key, outcome)
        return outcome if isinstance(outcome, ItemRef) else None

    async def _cached(self, key: str) -> str | None:
        try:
            value = await self._store.get(key)
        except RedisError:
            return None
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def _remember(self, key: str, outcome: ItemRef | _Outcome) -> None:
        if isinstance(outcome, ItemRef):
            value, ttl = f"{outcome.platform.value}:{outcome.item_id}", self._cache_ttl
        elif outcome is _Outcome.NOT_FOUND:
            value, ttl = _NOT_FOUND, self._cache_ttl
        else:
            value, ttl = _NOT_FOUND, min(self._cache_ttl, TRANSIENT_TTL)
        try:
            await self._store.set(key, value, ex=max(ttl, 1))
        except RedisError:
            log.warning("could not cache a short link result")

    async def _follow(self, start: SplitUrl) -> ItemRef | _Outcome:
        current = start
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with asyncio.timeout(self._hop_timeout):
                    step = await self._hop(current)
            except PrivateHost:
                log.warning("short link host %s resolves to a private address", current.host)
                return _Outcome.NOT_FOUND
            except UnresolvableHost as failed:  # said as such, and asked again later
                log.info("short link hop failed: %s", failed)
                return _Outcome.TRANSIENT
            except (TimeoutError, httpx.HTTPError, OSError):  # a name that does not resolve too
                log.info("short link hop to %s failed", current.host)
                return _Outcome.TRANSIENT
            if not isinstance(step, SplitUrl):
                return step
            current = step
        log.info("short link gave up after %d redirects", MAX_REDIRECTS)
        return _Outcome.NOT_FOUND

    async def _hop(self, url: SplitUrl) -> SplitUrl | ItemRef | _Outcome:
        """One request: the next URL to request, the item, or why it ended."""
        target = _unsplit(url)
        log.debug("short link hop to %s", url.host)
        async with self._client.stream("GET", target) as response:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                return self._next_hop(target, location) if location else _Outcome.NOT_FOUND
            if response.status_code >= 500:
                return _Outcome.TRANSIENT
            if response.status_code != 200:
                return _Outcome.NOT_FOUND
            body = await self._read_capped(response)
        return _embedded_item(body) or _Outcome.NOT_FOUND

    def _next_hop(self, current: str, location: str) -> SplitUrl | ItemRef | _Outcome:
        """Where a redirect may lead: an item, or another allowed host."""
        absolute = urljoin(current, location.strip())
        ref = parse_item_url(absolute)
        if ref is not None:
            return ref
        nxt = _requestable(absolute, short_only=False)
        if nxt is None:
            log.warning("short link redirected outside the allowed hosts")
            return _Outcome.NOT_FOUND
        return nxt

    async def _read_capped(self, response: httpx.Response) -> bytes:
        body = bytearray()
        try:
            # Raw bytes: with identity encoding requested, nothing to inflate,
            # and a compressed bomb cannot grow past the cap inside one chunk.
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) >= self._max_body:
                    break
        except httpx.StreamConsumed:
            # A transport that answered with a body already in memory.
            body = bytearray(response.content[: self._max_body])
        return bytes(body[: self._max_body])


def _requestable(url: str, *, short_only: bool) -> SplitUrl | None:
    """The https URL to request, if its host may be contacted at all."""
    parts = split_url(url)
    if parts is None:
        return None
    allowed = parts.host in SHORT_LINK_HOSTS or (not short_only and is_marketplace_host(parts.host))
    if not allowed or (short_only and len(parts.path) <= 1):
        return None
    # http is upgraded before any request is made.
    return parts._replace(scheme="https")


def _unsplit(url: SplitUrl) -> str:
    query = f"?{url.query}" if url.query else ""
    return f"https://{url.host}{url.path}{query}"


def _embedded_item(body: bytes) -> ItemRef | None:
    """The first allow-listed item URL a short-link landing page names."""
    text = body.decode("utf-8", errors="replace").replace("\\/", "/")
    for count, match in enumerate(_EMBEDDED_URL.finditer(text)):
        if count >= _MAX_EMBEDDED:
            break
        ref = parse_item_url(match.group().replace("&amp;", "&"))
        if ref is not None:
            return ref
    return None


def _decode_ref(value: str) -> ItemRef | None:
    platform, _, item_id = value.partition(":")
    try:
        return ItemRef(platform=Platform(platform), item_id=item_id)
    except ValueError:
        return None
