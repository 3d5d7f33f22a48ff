"""Which hosts the bot may fetch from on a user's behalf: public addresses only.

Links and photo URLs come from users and from the upstream's payload, so a
redirect could point the bot at an internal service. :class:`PublicAddressTransport`
is the only way such requests leave:

- an IP literal must be a global address, proxy or not;
- behind a proxy (``HTTPS_PROXY``/``ALL_PROXY``, minus ``NO_PROXY``) the
  request goes to the proxy by host name, and the proxy resolves it;
- otherwise the host is resolved **once**, every address must be global, and
  the connection is made to those very addresses. Resolving again to connect
  would let a name that answers "public" to the check and "private" a moment
  later (DNS rebinding) steer the bot inward. TLS still sends the host name
  (SNI) and checks the certificate against it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

HostResolver = Callable[[str, int], Awaitable[Sequence[str]]]
AddressCheck = Callable[[str], bool]

# The addresses checked for the request under way, by host: all the network
# backend below may connect to. httpcore connects in the requesting task.
_CHECKED: ContextVar[Mapping[str, Sequence[str]] | None] = ContextVar(
    "checked_addresses", default=None
)


class HostRefused(httpx.ConnectError):
    """The host may not be contacted; no connection was attempted."""


class UnresolvableHost(HostRefused):
    """The host name does not resolve (or cannot even be encoded)."""


class PrivateHost(HostRefused):
    """The host is, or resolves to, a private, loopback or otherwise non-global address."""


async def system_addresses(host: str, port: int) -> Sequence[str]:
    """The addresses ``host`` resolves to, as the system resolver says."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_global
    except ValueError:
        return False


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def environment_proxy() -> str | None:
    """The proxy httpx would use for https requests, from the environment."""
    proxies = urllib.request.getproxies_environment()
    return proxies.get("https") or proxies.get("all") or None


def behind_proxy(host: str) -> bool:
    """Whether a request for ``host`` goes through the environment's proxy."""
    return environment_proxy() is not None and not urllib.request.proxy_bypass(host)


async def checked_addresses(
    host: str, port: int, resolve: HostResolver, allowed: AddressCheck = is_public
) -> Sequence[str]:
    """The addresses of ``host``, every one allowed; else :class:`HostRefused`."""
    try:
        addresses = list(await resolve(host, port))
    except (OSError, UnicodeError, ValueError) as error:
        # ValueError: a name IDNA cannot encode ("a..b", a label over 63 characters).
        raise UnresolvableHost(f"{host}: DNS look-up failed ({type(error).__name__})") from None
    if not addresses:
        raise UnresolvableHost(f"{host}: DNS look-up found no address")
    if not all(allowed(address) for address in addresses):
        raise PrivateHost(f"{host} resolves to a private address")
    return addresses


class _CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """Connects a host name only to the addresses checked for it, never resolving it again."""

    def __init__(self) -> None:
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = (_CHECKED.get() or {}).get(host)
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no checked address to connect to")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets here")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class _CoreStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except httpcore.TimeoutException as error:
            raise httpx.ReadTimeout(str(error)) from None
        except httpcore.NetworkError as error:
            raise httpx.ReadError(str(error)) from None
        except httpcore.ProtocolError as error:
            raise httpx.RemoteProtocolError(str(error)) from None

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class _DirectTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool whose connections go to checked addresses only.

    httpx's own transport takes no network backend, hence this small adapter.
    """

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedAddressBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core)
        except httpcore.TimeoutException as error:
            name = type(error).__name__  # ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
            raise getattr(httpx, name, httpx.TimeoutException)(str(error)) from None
        except httpcore.ConnectError as error:
            raise httpx.ConnectError(str(error)) from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as error:
            raise getattr(httpx, type(error).__name__, httpx.TransportError)(str(error)) from None
        except httpcore.UnsupportedProtocol as error:
            raise httpx.UnsupportedProtocol(str(error)) from None
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class PublicAddressTransport(httpx.AsyncBaseTransport):
    """Sends a request only to a public address: the one it checked (see the module).

    ``network`` stands in for the outside world in tests: it receives the
    request in place of both the direct connection and the proxy, after the
    same checks.
    """

    def __init__(
        self,
        resolve: HostResolver = system_addresses,
        *,
        allowed: AddressCheck = is_public,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        network: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._resolve = resolve
        self._allowed = allowed
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=5)
        if network is not None:
            self._direct: httpx.AsyncBaseTransport = network
            self._proxied: httpx.AsyncBaseTransport | None = network
            return
        # trust_env: SSL_CERT_FILE / SSL_CERT_DIR, as any httpx client honours them.
        context = httpx.create_ssl_context(verify=verify, trust_env=True)
        self._direct = _DirectTransport(context, limits)
        proxy = environment_proxy()
        self._proxied = (
            httpx.AsyncHTTPTransport(verify=context, proxy=proxy, limits=limits) if proxy else None
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # As it goes on the wire and as httpcore names it when it connects: IDNA-encoded.
        host = request.url.raw_host.decode("ascii")
        literal = is_ip_literal(host)
        if literal and not self._allowed(host.strip("[]")):
            raise PrivateHost(f"{host} is a private address")
        if self._proxied is not None and behind_proxy(host):
            return await self._proxied.handle_async_request(request)
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = (
            [host.strip("[]")]
            if literal
            else await checked_addresses(host, port, self._resolve, self._allowed)
        )
        token = _CHECKED.set({**(_CHECKED.get() or {}), host: addresses})
        try:
            return await self._direct.handle_async_request(request)
        finally:
            _CHECKED.reset(token)

    async def aclose(self) -> None:
        await self._direct.aclose()
        if self._proxied is not None and self._proxied is not self._direct:
            await self._proxied.aclose()
