"""Newer reference rates, fetched in the background and shared through the store.

Every replica looks in the store now and then (``every`` seconds) and takes
rates newer than its own, so all replicas agree within that time. When even
the store's rates are older than the newest the ECB can have published, one
replica (the one that takes the store's lock, held an hour) fetches the daily
file and writes what it got to the store. A failed fetch keeps the rates in
use and logs one line; a card never waits for any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.money.rates import RateBook, ReferenceRates
from bot.money.reference import MAX_DOCUMENT, BadReference, parse_daily_xml

log = logging.getLogger(__name__)

STORE_KEY = "fx:reference"
LOCK_KEY = "fx:fetching"
FETCH_EVERY_SECONDS = 3600
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The ECB publishes around 16:00 CET; after this hour (UTC) today's rates may be out.
PUBLISHED_BY_HOUR = 16


def newest_possible(now: datetime) -> date:
    """The latest day the ECB may have published rates for by ``now`` (working days)."""
    day = now.date() if now.hour >= PUBLISHED_BY_HOUR else now.date() - timedelta(days=1)
    while day.weekday() >= 5:  # no rates on Saturdays and Sundays
        day -= timedelta(days=1)
    return day


def encode(reference: ReferenceRates) -> str:
    return json.dumps(
        {
            "day": reference.day.isoformat(),
            "publisher": reference.publisher,
            "per_cny": {code: str(value) for code, value in reference.per_cny.items()},
        }
    )


def decode(raw: bytes | str) -> ReferenceRates | None:
    """Rates another replica stored; None for anything malformed."""
    try:
        data = json.loads(raw)
        rates = {str(code): Decimal(str(value)) for code, value in data["per_cny"].items()}
        if not all(value.is_finite() and value > 0 for value in rates.values()):
            return None
        return ReferenceRates(date.fromisoformat(data["day"]), rates, str(data["publisher"]))
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation):
        return None


class RateRefresher:
    """Keeps a ``RateBook``'s reference rates as new as the store and the ECB allow."""

    def __init__(
        self,
        book: RateBook,
        store: Redis,
        *,
        url: str | None,
        every: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._book = book
        self._store = store
        self._url = url
        self._every = every
        self._transport = transport
        self._clock = clock

    async def refresh(self) -> None:
        """One round: take the store's rates, fetch when still behind. Never raises."""
        try:
            stored = await self._store.get(STORE_KEY)
        except RedisError:
            return  # the next round asks again; the rates in use stay
        shared = decode(stored) if stored is not None else None
        if shared is not None and self._book.adopt(shared):
            log.info("reference rates of %s taken from the store", shared.day)
        if not self._url or self._book.reference.day >= newest_possible(self._clock()):
            return
        try:
            if not await self._store.set(LOCK_KEY, "1", nx=True, ex=FETCH_EVERY_SECONDS):
                return  # another replica fetches (or did, within the hour)
        except RedisError:
            return
        fetched = await self._fetch(self._url)
        if fetched is None or not self._book.adopt(fetched):
            return
        log.info("reference rates of %s fetched", fetched.day)
        try:
            await self._store.set(STORE_KEY, encode(fetched))
        except RedisError:
            log.warning("could not share the new reference rates through the store")

    async def _fetch(self, url: str) -> ReferenceRates | None:
        try:
            async with httpx.AsyncClient(
                timeout=FETCH_TIMEOUT, transport=self._transport
            ) as client:
                async with client.stream("GET", url) as response:
                    response.raise_for_status()
                    document = b""
                    async for chunk in response.aiter_bytes():
                        document += chunk
                        if len(document) > MAX_DOCUMENT:
                            raise BadReference("document too large")
                return parse_daily_xml(document)
        except (httpx.HTTPError, BadReference) as error:
            log.warning(
                "reference rates not refreshed (%s); keeping those of %s",
                type(error).__name__,
                self._book.reference.day,
            )
            return None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Refresh at once, then every ``every`` seconds, while the body runs."""
        task = asyncio.create_task(self._loop(), name="rate-refresher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # a bug here must not stop the refreshing
                log.warning("reference rates refresh failed: %s", type(error).__name__)
            await asyncio.sleep(self._every)
