"""The whole bot in-process: real Dispatcher, services and Redis; fakes at the edges.

Telegram is a ``RecordingSession``; the upstream is a ``FakeCatBuy`` on
loopback. Tests feed updates through ``Dispatcher.feed_update``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aiogram.types import Update

from bot.app import App, build_app
from bot.config import load_settings
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.shortlink_server import FakeShortLinkWeb
from tests.fakes.telegram import FakeTelegram, RecordingSession, SentCall

TOKEN = "42:TEST-TOKEN"
ADMIN_ID = 7001


@dataclass
class Harness:
    """A running bot: ``feed`` updates, read what Telegram was sent."""

    app: App
    session: RecordingSession
    catbuy: FakeCatBuy
    shortlinks: FakeShortLinkWeb

    async def feed(self, update: Update) -> None:
        await self.app.dispatcher.feed_update(self.app.bot, update)

    def sent(self, method: str | None = None) -> list[SentCall]:
        return [c for c in self.session.sent if method is None or c.method == method]

    def cards(self) -> list[SentCall]:
        return [c for c in self.session.sent if c.method == "sendPhoto" and c.ok]

    def messages(self) -> list[str]:
        return [str(c.params.get("text")) for c in self.sent("sendMessage") if c.ok]

    def clear(self) -> None:
        self.session.sent.clear()


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2048 + b"\xff\xd9"


def image_cdn(request: httpx.Request) -> httpx.Response:
    """The marketplace image CDN: every https image is a small JPEG; others 404."""
    if request.url.scheme == "https" and "missing" not in request.url.path:
        return httpx.Response(200, content=JPEG, headers={"content-type": "image/jpeg"})
    return httpx.Response(404)


async def public_dns(host: str, port: int) -> list[str]:
    """Every short-link host resolves to a public address (no real DNS in tests)."""
    return ["140.205.94.189"]


@asynccontextmanager
async def running_bot(
    redis_url: str | None,
    catbuy: FakeCatBuy,
    *,
    telegram: FakeTelegram | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The whole bot in-process; replicas of one bot share ``telegram``."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "catbuy_api_key": catbuy.key,
        "catbuy_base_url": catbuy.base_url,
        "redis_url": redis_url,
        "admin_ids": str(ADMIN_ID),
        "telegram_send_interval": 0,
        "catbuy_rps": 50,
        # Cards in CNY alone unless a test asks for a currency (tests/test_bot_currency.py).
        "default_currency": "CNY",
        "_env_file": None,
    }
    values.update(settings)
    session = RecordingSession(telegram)
    shortlinks = FakeShortLinkWeb()
    async with build_app(
        load_settings(**values),
        bot_session=session,
        images_transport=httpx.MockTransport(image_cdn),
        shortlinks_transport=shortlinks.transport,
        resolve_host=public_dns,
    ) as app:
        yield Harness(app, session, catbuy, shortlinks)
