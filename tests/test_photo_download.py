"""Downloading a photo Telegram refused: hostile image hosts get nothing out of the bot."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
import pytest

from bot.cards.photo_download import PhotoDownloader
from bot.links.public_hosts import PublicAddressTransport, system_addresses

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000 + b"\xff\xd9"
ADDRESSES = {
    "img.alicdn.com": ["140.205.94.189"],
    "cdn.example.com": ["93.184.216.34"],
    "internal.corp": ["10.0.0.5"],
    "metadata.cloud": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
}


async def fake_dns(host: str, port: int) -> Sequence[str]:
    if host not in ADDRESSES:
        raise OSError("no such host")
    return ADDRESSES[host]


def downloader(
    answer: Callable[[httpx.Request], httpx.Response], **kwargs: float
) -> tuple[PhotoDownloader, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    network = httpx.MockTransport(record)
    client = httpx.AsyncClient(transport=PublicAddressTransport(fake_dns, network=network))
    return PhotoDownloader(client, **kwargs), seen  # type: ignore[arg-type]


async def streamed(body: bytes, chunk: int = 1024) -> AsyncIterator[bytes]:
    """A body as a server sends it: in chunks, no Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


def redirect(to: str) -> httpx.Response:
    return httpx.Response(302, headers={"location": to})


async def test_a_photo_is_downloaded_asking_for_its_bytes_as_they_are() -> None:
    photos, seen = downloader(lambda r: httpx.Response(200, content=JPEG))
    assert await photos.fetch("https://img.alicdn.com/a.jpg") == JPEG
    assert seen[0].headers["accept-encoding"] == "identity"


async def test_redirects_to_public_https_hosts_are_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "img.alicdn.com":
            return redirect("https://cdn.example.com/b.jpg")
        return httpx.Response(200, content=JPEG)

    photos, seen = downloader(answer)
    assert await photos.fetch("https://img.alicdn.com/a.jpg") == JPEG
    assert [r.url.host for r in seen] == ["img.alicdn.com", "cdn.example.com"]


async def test_no_request_reaches_a_private_address_or_plain_http() -> None:
    for target in (
        "http://cdn.example.com/b.jpg",
        "https://internal.corp/admin",
        "https://metadata.cloud/latest/meta-data/",
        "https://mixed.example/b.jpg",
        "https://no-such-host.example/b.jpg",
    ):
        photos, seen = downloader(lambda r, to=target: redirect(to))  # type: ignore[misc]
        assert await photos.fetch("https://img.alicdn.com/a.jpg") is None
        assert [r.url.host for r in seen] == ["img.alicdn.com"], target
    photos, seen = downloader(lambda r: httpx.Response(200, content=JPEG))
    assert await photos.fetch("https://internal.corp/a.jpg") is None
    assert seen == []


async def test_redirects_stop_after_three() -> None:
    photos, seen = downloader(lambda r: redirect(f"https://cdn.example.com/{len(r.url.path)}x"))
    assert await photos.fetch("https://img.alicdn.com/a.jpg") is None
    assert len(seen) == 4


async def test_a_photo_over_the_cap_is_refused_declared_or_not() -> None:
    declared, _ = downloader(
        lambda r: httpx.Response(200, headers={"content-length": "20000000"}, content=JPEG)
    )
    assert await declared.fetch("https://img.alicdn.com/a.jpg") is None
    endless, _ = downloader(
        lambda r: httpx.Response(200, content=streamed(b"\xff" * 5000)), max_bytes=4096
    )
    assert await endless.fetch("https://img.alicdn.com/a.jpg") is None


async def test_a_compressed_bomb_is_not_inflated() -> None:
    bomb = gzip.compress(b"\x00" * 50_000_000)
    photos, _ = downloader(
        lambda r: httpx.Response(
            200, headers={"content-encoding": "gzip"}, content=streamed(bomb, chunk=1 << 16)
        ),
        max_bytes=1_000_000,
    )
    assert (
        await photos.fetch("https://img.alicdn.com/a.jpg") == bomb
    )  # as sent: Telegram refuses it


async def test_a_host_that_drips_bytes_is_given_up_at_the_deadline() -> None:
    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b"\xff"
            await asyncio.sleep(0.05)

    photos, _ = downloader(lambda r: httpx.Response(200, content=drip()), deadline=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await photos.fetch("https://img.alicdn.com/a.jpg") is None
    assert loop.time() - started < 2


async def test_a_host_name_that_cannot_be_encoded_is_no_photo_not_a_crash() -> None:
    """As the system resolver meets them: an empty label, a label over 63 characters."""
    network = httpx.MockTransport(lambda r: httpx.Response(200))
    client = httpx.AsyncClient(transport=PublicAddressTransport(system_addresses, network=network))
    photos = PhotoDownloader(client)
    for url in ("https://si..geilicdn.com/a.jpg", f"https://{'a' * 64}.com/a.jpg"):
        assert await photos.fetch(url) is None
    redirected, _ = downloader(lambda r: redirect("https://si..geilicdn.com/b.jpg"))
    assert await redirected.fetch("https://img.alicdn.com/a.jpg") is None


async def test_only_the_default_https_port_is_asked() -> None:
    for url in ("https://img.alicdn.com:8443/a.jpg", "https://img.alicdn.com:22/a.jpg"):
        photos, seen = downloader(lambda r: httpx.Response(200, content=JPEG))
        assert await photos.fetch(url) is None
        assert seen == [], url
    photos, seen = downloader(lambda r: redirect("https://cdn.example.com:6379/b.jpg"))
    assert await photos.fetch("https://img.alicdn.com:443/a.jpg") is None
    assert [r.url.host for r in seen] == ["img.alicdn.com"]


async def test_a_private_ip_literal_is_refused_without_any_look_up() -> None:
    asked: list[str] = []

    async def dns(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return ["140.205.94.189"]

    seen: list[httpx.Request] = []
    network = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, content=JPEG))
    client = httpx.AsyncClient(transport=PublicAddressTransport(dns, network=network))
    photos = PhotoDownloader(client)
    for url in ("https://10.0.0.5/a.jpg", "https://[::1]/a.jpg", "https://169.254.169.254/"):
        assert await photos.fetch(url) is None
    assert seen == [] and asked == []


async def test_a_failed_look_up_is_logged_as_what_it_was(
    caplog: pytest.LogCaptureFixture,
) -> None:
    photos, seen = downloader(lambda r: httpx.Response(200, content=JPEG))
    with caplog.at_level(logging.INFO, logger="bot.cards.photo_download"):
        assert await photos.fetch("https://no-such-host.example/a.jpg") is None
        assert await photos.fetch("https://internal.corp/a.jpg") is None
    unresolved, private = (r.getMessage() for r in caplog.records)
    assert "no-such-host.example" in unresolved and "DNS look-up failed" in unresolved
    assert "private" not in unresolved
    assert "internal.corp resolves to a private address" in private
    assert seen == []
