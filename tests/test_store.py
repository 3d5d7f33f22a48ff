"""The store's client: what it does when Redis goes away and comes back."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import redis
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.store import SOCKET_TIMEOUT, open_store
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


async def test_a_command_leaves_at_the_next_turn_of_the_loop() -> None:
    """Work started "in the background" overlaps what follows (redis-py alone needs two turns)."""
    with running_redis() as server:
        store = open_store(server.url)
        await store.ping()
        writing = asyncio.ensure_future(store.set("card", "state"))
        await asyncio.sleep(0)  # one turn
        # The loop must not turn again: look from outside, blocking, for up to 2 s.
        with redis.Redis.from_url(server.url) as other:
            deadline = time.monotonic() + 2
            while other.get("card") is None and time.monotonic() < deadline:
                time.sleep(0.01)  # noqa: ASYNC251 - blocking on purpose
            assert other.get("card") == b"state"
        await writing
        await store.aclose()


async def test_a_busy_event_loop_is_not_a_store_timeout(redis: Redis) -> None:
    """Redis answered at once; this process was busy (a burst of cards, a collection)."""
    await redis.ping()
    reading = asyncio.ensure_future(redis.get("card"))
    await asyncio.sleep(0)  # the command is sent
    time.sleep(0.8)  # noqa: ASYNC251 - the loop stands still on purpose
    assert await reading is None


async def test_a_write_that_cannot_leave_times_out() -> None:
    with running_redis() as server:
        store = open_store(server.url)
        await store.ping()
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # Redis stops reading its socket
        try:
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await store.set("big", b"x" * 64 * 1024 * 1024)  # more than the socket buffers
            assert time.monotonic() - started < SOCKET_TIMEOUT * 4
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert await store.set("small", "ok")  # a new connection, Redis back
        await store.aclose()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", redis.asyncio.Connection),
        ("rediss://127.0.0.1:6379/0", redis.asyncio.SSLConnection),
        ("unix:///run/redis.sock", redis.asyncio.UnixDomainSocketConnection),
    ],
)
async def test_every_kind_of_url_keeps_its_own_connection_class(url: str, kind: type) -> None:
    store = open_store(url)  # no connection is made until a command
    assert issubclass(store.connection_pool.connection_class, kind)
    await store.aclose()
