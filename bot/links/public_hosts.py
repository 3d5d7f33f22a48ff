"""Which hosts the bot may fetch from on a user's behalf: public addresses only.

Links and photo URLs come from users and from the upstream's payload, so a
redirect could point the bot at an internal service. Without a proxy, a host
must resolve to global addresses only; behind a proxy (``HTTPS_PROXY``…, as
httpx honours it) the proxy resolves names, so the check is left to it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Awaitable, Callable, Sequence

HostResolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def system_addresses(host: str, port: int) -> Sequence[str]:
    """The addresses ``host`` resolves to, as the system resolver says."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def is_public_host(host: str, resolve: HostResolver) -> bool:
    """True when every address of ``host`` is global (or a proxy resolves it)."""
    if behind_proxy(host):
        return True
    try:
        addresses = await resolve(host, 443)
    except (OSError, ValueError):  # ValueError: a name IDNA cannot encode ("a..b", a long label)
        return False
    return bool(addresses) and all(is_public(address) for address in addresses)


def behind_proxy(host: str) -> bool:
    """Whether httpx would send a request for ``host`` through a proxy."""
    proxies = urllib.request.getproxies_environment()
    if not any(proxies.get(name) for name in ("https", "all")):
        return False
    return not urllib.request.proxy_bypass(host)


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_global
    except ValueError:
        return False
