"""Shared state: Redis when configured, else an in-process Redis look-alike.

The in-process store is ``fakeredis`` with Lua support, so every Lua script
and command the bot uses has one implementation and the same semantics in
both modes. It serves one process only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import fakeredis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# A hung Redis must not stall a handler for long: a timeout, then the caller
# fails closed. The timeout is measured on this process's clock, so it also
# fires when Redis answered at once but the event loop was busy (a burst of
# cards, a garbage collection): at 0.5 s a burst of 200 answers being stored
# read as "store down". Connecting takes as long: a burst opens dozens of
# connections at once, each with its own handshake. A dropped connection (a
# pooled one after a Redis restart) is retried once; a timeout is not, since
# the command (a charge, say) may have run.
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
MAX_CONNECTIONS = 2000


def open_store(redis_url: str | None, *, timeout: float = SOCKET_TIMEOUT) -> Redis:
    """A Redis client for ``redis_url``, or an in-process store when unset.

    ``timeout`` bounds each command's reply (tests shorten it to stage a stall).
    """
    if not redis_url:
        log.warning("REDIS_URL is not set: using an in-process store (one process only)")
        # Its pool would stop at 100 connections, like redis-py's (see below).
        return fakeredis.FakeAsyncRedis(max_connections=MAX_CONNECTIONS)
    # redis-py's default pool stops at 100 connections and then *raises*, so a
    # burst of 100 look-ups would read as "store down"; a blocking pool waits
    # instead but costs ~0.1 ms a command. A roomy plain pool does neither.
    pool = ConnectionPool.from_url(
        redis_url,
        max_connections=MAX_CONNECTIONS,
        socket_timeout=timeout,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(
            ExponentialBackoff(cap=0.2, base=0.05),
            retries=1,
            supported_errors=(RedisConnectionError,),
        ),
        health_check_interval=30,
    )
    pool.connection_class = type(
        pool.connection_class.__name__, (_WriteWithoutTask, pool.connection_class), {}
    )
    return Redis.from_pool(pool)  # the client owns its pool: closing it closes the connections


class _WriteWithoutTask(AbstractConnection):
    """Bounds each command's write with ``asyncio.timeout``, not ``asyncio.wait_for``.

    On Python 3.11, redis-py's ``wait_for`` runs every write in a new task, so a
    command leaves only two turns of the event loop after it was issued (work
    started "in the background" did not overlap anything) and costs a task.
    Mixed into the pool's own connection class, so TLS and sockets keep theirs.
    """

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.is_connected:  # connecting keeps redis-py's own timeouts
            return await super().send_packed_command(command, check_health)
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)
        except TimeoutError:
            raise RedisTimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = timeout
