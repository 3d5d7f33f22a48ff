"""Downloading a product photo that Telegram would not fetch itself, safely.

The URL comes from the upstream's payload, so the image host is not trusted:
- https on the default port only, on every hop, and redirects (at most
  ``MAX_REDIRECTS``) are followed by hand; the client's transport connects
  only to public addresses, the very ones it checked
  (``bot.links.public_hosts.PublicAddressTransport``);
- the whole download has one deadline, so a host that sends a byte every few
  seconds cannot hold a paid card;
- at most ``MAX_PHOTO_BYTES``: a larger ``Content-Length`` is refused before
  reading, and bodies are read raw, with identity encoding asked for, so a
  compressed bomb cannot inflate past the cap inside one chunk.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urljoin, urlsplit

import httpx

from bot.links.public_hosts import HostRefused, PrivateHost

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's limit for a photo
MAX_REDIRECTS = 3
DOWNLOAD_SECONDS = 10.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HEADERS = {"Accept": "image/*", "Accept-Encoding": "identity"}


class PhotoDownloader:
    """Fetches a photo's bytes within the rules above; None when it may not or cannot."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        deadline: float = DOWNLOAD_SECONDS,
        max_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        """``client`` sends through a ``PublicAddressTransport`` (tests: its ``network``)."""
        self._client = client
        self._deadline = deadline
        self._max_bytes = max_bytes

    async def fetch(self, url: str) -> bytes | None:
        try:
            async with asyncio.timeout(self._deadline):
                return await self._follow(url)
        except TimeoutError:
            log.info("photo download took too long")
        except PrivateHost as refused:
            log.warning("photo download refused: %s", refused)
        except HostRefused as refused:  # the name does not resolve: said as such
            log.info("photo download failed: %s", refused)
        except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL, OSError, ValueError) as error:
            # ValueError: a URL or host name that cannot even be encoded.
            log.info("photo download failed: %s", type(error).__name__)
        return None

    async def _follow(self, url: str) -> bytes | None:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            # Default port only: a photo host has no business on an admin port.
            if parts.scheme != "https" or not parts.hostname or parts.port not in (None, 443):
                return None
            async with self._client.stream("GET", url, headers=_HEADERS) as response:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    url = urljoin(url, location.strip())
                    continue
                if response.status_code != 200:
                    return None
                return await self._read_capped(response)
        return None

    async def _read_capped(self, response: httpx.Response) -> bytes | None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            return None
        body = bytearray()
        try:
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self._max_bytes:
                    return None
        except httpx.StreamConsumed:  # a transport that answered with a body in memory
            body = bytearray(response.content)
        return bytes(body) if 0 < len(body) <= self._max_bytes else None
