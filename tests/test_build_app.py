"""``build_app`` closes every part on the way out, even when one fails to close."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis

from bot.app import build_app
from bot.balance.daily_usage import Counter, DailyCounters
from bot.config import load_settings
from tests.fakes.telegram import RecordingSession


class Transport(httpx.AsyncBaseTransport):
    """An outside service that answers 404 and remembers being closed."""

    def __init__(self, *, close_fails: bool = False) -> None:
        self.closed = False
        self._close_fails = close_fails

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    async def aclose(self) -> None:
        self.closed = True
        if self._close_fails:
            raise OSError("the image client failed to close")


async def test_every_part_closes_though_one_fails(redis: Redis, redis_url: str) -> None:
    settings = load_settings(
        bot_token="42:TEST-TOKEN", catbuy_api_key="cbk_test", redis_url=redis_url, _env_file=None
    )
    session = RecordingSession()
    catbuy, images, shortlinks = Transport(), Transport(close_fails=True), Transport()
    with pytest.raises(OSError, match="image client failed to close"):
        async with build_app(
            settings,
            bot_session=session,
            catbuy_transport=catbuy,
            images_transport=images,
            shortlinks_transport=shortlinks,
        ) as app:
            await app.store.ping()
            app.services.counters.count(Counter.PAID_LOOKUPS)  # written at the latest on close
    # The image client closes after the short-link client and before the rest.
    assert images.closed and shortlinks.closed
    assert catbuy.closed
    assert session.closed
    assert (await DailyCounters(redis).snapshot()).paid_lookups == 1
    clients = await redis.client_list()
    assert len(clients) == 1, "the bot's own store connection is closed; only the test's is left"
