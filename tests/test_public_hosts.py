"""Requests on a user's behalf reach public addresses only: the very ones checked.

Real TLS servers on loopback stand for the outside: 127.0.0.2 plays a public
host (the ``allowed`` check says so), 127.0.0.1 an internal service.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import trustme

from bot.links.public_hosts import PrivateHost, PublicAddressTransport, UnresolvableHost

PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.1"
CA = trustme.CA()


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@dataclass
class Server:
    """A TLS web server on one loopback address: what it was asked, under which name."""

    address: str
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)
    host_headers: list[str] = field(default_factory=list)


@asynccontextmanager
async def tls_server(address: str, port: int, certified_for: str) -> AsyncIterator[Server]:
    server = Server(address)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CA.issue_cert(certified_for).configure_cert(context)

    def sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        server.server_names.append(name)

    context.sni_callback = sni  # type: ignore[assignment]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("host:"):
                server.host_headers.append(line.split(":", 1)[1].strip())
        body = f"served by {address}".encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(serve, address, port, ssl=context)
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((PRIVATE, 0))
        return int(sock.getsockname()[1])


class Dns:
    """Answers from a script, one answer per question; remembers the questions."""

    def __init__(self, *answers: Sequence[str] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(dns: Dns) -> httpx.AsyncClient:
    trust = ssl.create_default_context()
    CA.configure_trust(trust)
    transport = PublicAddressTransport(dns, allowed=lambda a: a == PUBLIC, verify=trust)
    return httpx.AsyncClient(transport=transport, timeout=5)


async def test_a_name_that_rebinds_is_connected_to_the_address_it_was_checked_at() -> None:
    port = free_port()
    dns = Dns([PUBLIC], [PRIVATE])  # public to the check, private a moment later
    async with (
        tls_server(PUBLIC, port, "img.example") as public,
        tls_server(PRIVATE, port, "img.example") as internal,
        client(dns) as http,
    ):
        response = await http.get(f"https://img.example:{port}/a.jpg")
        assert response.text == f"served by {PUBLIC}"
        assert dns.asked == ["img.example"]  # resolved once, for the check and the connection
        with pytest.raises(PrivateHost):  # the next request is checked anew
            await http.get(f"https://img.example:{port}/b.jpg")
    assert internal.connections == 0
    # TLS spoke to the host by name: SNI, and a certificate issued for the name.
    assert public.server_names == ["img.example"]
    assert public.host_headers == [f"img.example:{port}"]


async def test_the_certificate_is_checked_against_the_host_name() -> None:
    port = free_port()
    async with (
        tls_server(PUBLIC, port, "other.example") as public,
        client(Dns([PUBLIC])) as http,
    ):
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|hostname"):
            await http.get(f"https://img.example:{port}/a.jpg")
    assert public.host_headers == []


@pytest.mark.parametrize("answer", [[PRIVATE], [PUBLIC, PRIVATE], ["10.0.0.5"], ["::1"]])
async def test_a_name_with_any_private_address_is_refused_before_connecting(
    answer: list[str],
) -> None:
    port = free_port()
    async with (
        tls_server(PRIVATE, port, "img.example") as internal,
        client(Dns(answer)) as http,
    ):
        with pytest.raises(PrivateHost, match="resolves to a private address"):
            await http.get(f"https://img.example:{port}/a.jpg")
    assert internal.connections == 0


async def test_a_name_that_does_not_resolve_says_so() -> None:
    async with client(Dns(OSError("Name or service not known"))) as http:
        with pytest.raises(UnresolvableHost, match="DNS look-up failed") as caught:
            await http.get("https://nowhere.example/a.jpg")
    assert "private" not in str(caught.value)


@asynccontextmanager
async def recording_proxy() -> AsyncIterator[tuple[str, list[bytes]]]:
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, PRIVATE, 0)
    try:
        yield f"http://{PRIVATE}:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        await server.wait_closed()


async def test_behind_a_proxy_names_go_by_name_and_private_literals_nowhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = Dns([PRIVATE])
    async with recording_proxy() as (url, seen):
        monkeypatch.setenv("HTTPS_PROXY", url)
        async with client(dns) as http:
            for literal in ("https://10.0.0.5/a.jpg", "https://[::1]/a.jpg", "https://127.0.0.1/"):
                with pytest.raises(PrivateHost):
                    await http.get(literal)
            with pytest.raises(httpx.ProxyError):
                await http.get("https://img.example/a.jpg")
    assert seen == [b"CONNECT img.example:443 HTTP/1.1\r\n"]
    assert dns.asked == []  # the proxy resolves names
