"""The CatBuy Services HTTP client: one request per call, every failure typed.

No retries and no pacing here: pacing, retries on 429 and the breaker live in
the services above. This module only turns one HTTP exchange into an
:class:`Item`, a :class:`RiskVerdict` or one of ``bot.catbuy.errors``.

The API key travels only in the ``X-API-Key`` header. Nothing here logs a
request body, and exception messages carry the HTTP status and the upstream's
error code, never a response body, a checked value or the key. An upstream that
echoes the key back gets it masked in every text of the item or verdict, after
decoding and cleaning (``bot.catbuy.key_mask``): that text goes to chats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import httpx
import pydantic_core
from pydantic import SecretStr

from bot.catbuy.errors import (
    AuthError,
    BadResponse,
    CatBuyError,
    InsufficientBalance,
    InvalidRequest,
    InvalidUrl,
    ItemNotFound,
    MissingParameter,
    NetworkError,
    RateLimited,
    ServerError,
    UpstreamTimeout,
)
from bot.catbuy.key_mask import KeyMask
from bot.catbuy.payload import parse_item
from bot.catbuy.risk import RiskVerdict, parse_risk
from bot.items.item import Item, ItemRef

log = logging.getLogger(__name__)

# Real answers are tens of kilobytes; anything past this is not an item.
MAX_BODY_BYTES = 4 * 1024 * 1024
ITEM_PATH = "/item"
RISK_PATH = "/blacklist/check"
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


CallObserver = Callable[[str, str, float], None]
"""Told of every upstream call: (endpoint path, outcome, seconds)."""


class CatBuyClient:
    """Client of ``{base}/item`` and ``{base}/blacklist/check`` over one shared pool."""

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_call: CallObserver | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        # Parsed once: httpx would parse the joined string on every call.
        self._urls = {path: httpx.URL(base + path) for path in (ITEM_PATH, RISK_PATH)}
        self._timeout = timeout
        self._on_call = on_call
        self._mask = KeyMask(api_key.get_secret_value())
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._http = httpx.AsyncClient(
            headers={
                "X-API-Key": api_key.get_secret_value(),
                "Accept": "application/json",
                "User-Agent": "catbuy-bot",
            },
            timeout=timeouts,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            transport=transport,
            # Honours HTTPS_PROXY / NO_PROXY / SSL_CERT_FILE like any httpx client.
            trust_env=True,
            follow_redirects=False,
        )
        # What ``build_request`` would merge anew on every call, merged once.
        self._headers = [
            *self._http.headers.raw,
            (b"Content-Type", b"application/x-www-form-urlencoded"),
        ]
        self._timeouts = timeouts.as_dict()

    async def fetch_item(
        self,
        url: str,
        *,
        lang: str = "en",
        tid: str | None = None,
        ref: ItemRef | None = None,
    ) -> Item:
        """Look an item up by its canonical URL; ``ref`` fixes its identity."""
        form = {"url": url, "searchlang": lang}
        if tid is not None:
            form["tid"] = tid
        raw = await self._post(ITEM_PATH, form)
        try:
            item = parse_item(raw, fallback=ref)
        except ItemNotFound as exc:  # its message quotes the upstream's ``msg``
            raise ItemNotFound(self._mask.text(str(exc))) from None
        return self._mask.model(item)

    async def check_risk(self, kind: str, value: str) -> RiskVerdict:
        """Check one identifier (``kind``: email, username, phone, …) for risk."""
        raw = await self._post(RISK_PATH, {"type": kind, "value": value})
        return self._mask.model(parse_risk(raw))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, form: dict[str, str]) -> object:
        started = time.monotonic()
        outcome = "error"
        try:
            # httpx timeouts bound each phase; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout):
                status, headers, body = await self._exchange(path, form)
            outcome = str(status)
            if status != 200:
                raise _status_error(status, headers, body, self._mask)
            decoded = _decode(headers, body)
            outcome = "ok"
            return decoded
        except (TimeoutError, httpx.TimeoutException) as exc:
            outcome = "timeout"
            raise UpstreamTimeout(f"upstream {path} timed out", sent=_sent(exc)) from None
        except httpx.HTTPError as exc:
            outcome = "network"
            raise NetworkError(
                f"upstream {path} unreachable ({type(exc).__name__})", sent=_sent(exc)
            ) from None
        except BadResponse:
            outcome = "bad_response"
            raise
        finally:
            if self._on_call is not None:
                self._on_call(path, outcome, time.monotonic() - started)

    async def _exchange(self, path: str, form: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        request = httpx.Request(
            "POST",
            self._urls[path],
            headers=self._headers,
            content=urlencode(form).encode(),
            extensions={"timeout": self._timeouts},
        )
        response = await self._http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BadResponse(f"upstream {path} answer too large")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)
        finally:
            await response.aclose()


def _sent(exc: BaseException) -> bool:
    """False when no connection to the upstream was made: the request never left."""
    never = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
    return not isinstance(exc, never)


def _decode(headers: httpx.Headers, body: bytes) -> object:
    # The body decides, not Content-Type: backends like this one often label
    # JSON as text/html, and an error page is HTML whatever its label.
    if body.lstrip()[:1] == b"<":
        raise BadResponse("upstream sent an HTML page")
    try:
        return pydantic_core.from_json(body)  # about twice as fast as json.loads
    except ValueError:
        pass  # a byte-order mark or a lone surrogate: json.loads takes them
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        page = "html" in headers.get("content-type", "").lower()
        raise BadResponse(f"upstream sent {'an HTML page' if page else 'invalid JSON'}") from None


def _error_code(body: bytes, mask: KeyMask) -> str | None:
    """The upstream's ``error`` code when it is a short identifier (not the key), else None."""
    try:
        decoded = json.loads(body[:4096])
    except (ValueError, RecursionError):
        return None
    code = decoded.get("error") if isinstance(decoded, dict) else None
    if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code) or mask.holds_key(code):
        return None
    return code


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()[:64]
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else None


def _status_error(status: int, headers: httpx.Headers, body: bytes, mask: KeyMask) -> CatBuyError:
    code = _error_code(body, mask)
    message = f"HTTP {status} {code or 'no error code'}"
    if status == 400:
        if code == "missing_parameter":
            return MissingParameter(message)
        if code == "invalid_url":
            return InvalidUrl(message)
        return InvalidRequest(message)
    if status == 401:
        return AuthError(message)
    if status == 402:
        return InsufficientBalance(message)
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(headers))
    return ServerError(message)
