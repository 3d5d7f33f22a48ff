"""The store's client: what it does when Redis goes away and comes back."""

from __future__ import annotations

import asyncio

from bot.store import open_store
from tests.redis_server import running_redis


async def test_pooled_connections_survive_a_redis_restart() -> None:
    with running_redis() as server:
        store = open_store(server.url)
        await asyncio.gather(*(store.set(f"k{i}", i) for i in range(5)))  # five pooled
        server.stop()
        server.start()  # this Redis kept nothing
        assert await asyncio.gather(*(store.get(f"k{i}") for i in range(5))) == [None] * 5
        await store.aclose()


async def test_a_burst_past_redis_pys_default_pool_is_served() -> None:
    with running_redis() as server:
        store = open_store(server.url)
        await asyncio.gather(*(store.set(f"k{i}", i) for i in range(300)))
        assert await store.dbsize() == 300
        await store.aclose()
    memory = open_store(None)
    await asyncio.gather(*(memory.set(f"k{i}", i) for i in range(300)))
    assert await memory.dbsize() == 300
