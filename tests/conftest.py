"""Shared fixtures: a real redis-server, the store in both of its modes, the fake
upstream, and the whole bot in-process or beside a fake Bot API over HTTP."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.catbuy.client import CatBuyClient
from bot.storage.store import open_store
from scripts.build_catalogs import compile_catalogs
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.catbuy_server import FakeCatBuy
from tests.harness import TOKEN, Harness, running_bot
from tests.redis_server import RedisServer, running_redis

# A copy of ../shared/fixtures/catbuy, so the repo tests itself anywhere.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "catbuy"


# The .mo files are build output (git-ignored): an editable install compiles them
# in place; a .po edited since is compiled again here, so a bare ``pytest`` sees it.
compile_catalogs(only_stale=True)


@pytest.fixture(autouse=True)
def _earlier_tests_frozen() -> None:
    """Freeze what earlier tests left, as ``bot.run.run`` freezes start-up's heap.

    A whole run's leftovers pass 300,000 objects. A full collection over them
    stalled the event loop for 0.4-0.6 s in the middle of a test on a 2-core
    VM, which a running bot, with its start-up heap frozen, never carries.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client of the real redis-server, emptied before the test."""
    client = open_store(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def redis_url(redis: Redis, redis_server: RedisServer) -> str:
    """The real redis-server's URL, emptied before the test (by ``redis``)."""
    return redis_server.url


@pytest.fixture
async def catbuy() -> AsyncIterator[FakeCatBuy]:
    """The fake upstream, generous on rate (pacing has tests of its own)."""
    async with FakeCatBuy(rps=50) as fake:
        yield fake


@pytest.fixture
async def bot(redis_url: str, catbuy: FakeCatBuy) -> AsyncIterator[Harness]:
    """The whole bot in-process on an emptied Redis, fakes at the edges."""
    async with running_bot(redis_url, catbuy) as harness:
        yield harness


@pytest.fixture
def bot_token() -> str:
    """The token the fake Bot API takes: a module overrides it to prove its own never leaks."""
    return TOKEN


@pytest.fixture
async def telegram(bot_token: str) -> AsyncIterator[FakeBotApi]:
    """The fake Bot API over HTTP, for the bot run as a real process (``TELEGRAM_API_URL``)."""
    async with FakeBotApi(bot_token) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeCatBuy) -> AsyncIterator[CatBuyClient]:
    """The real upstream client, talking to the test module's own ``fake`` upstream."""
    catbuy = CatBuyClient(fake.base_url, SecretStr(fake.key), timeout=5)
    yield catbuy
    await catbuy.aclose()


@pytest.fixture(params=["redis", "memory"])
async def store(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[Redis]:
    """The store in both modes: real Redis and the in-process store."""
    if request.param == "redis":
        client = open_store(redis_server.url)
        await client.flushall()
    else:
        client = open_store(None)
    yield client
    await client.aclose()
