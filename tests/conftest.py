"""Shared fixtures: a real redis-server, and the store in both of its modes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.catbuy.client import CatBuyClient
from bot.storage.store import open_store
from tests.fakes.catbuy_server import FakeCatBuy
from tests.harness import Harness, running_bot
from tests.redis_server import RedisServer, running_redis

# A copy of ../shared/fixtures/catbuy, so the repo tests itself anywhere.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "catbuy"
ROOT = Path(__file__).resolve().parent.parent


def _compile_catalogs() -> None:
    """The .mo files are build output (git-ignored): compile them for a bare ``pytest``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in (ROOT / "locales").glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po)
        with mo_path.open("wb") as mo:
            write_mo(mo, catalog)


_compile_catalogs()


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
