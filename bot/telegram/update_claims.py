"""Which replica handles a webhook update: one claim per ``update_id`` in the store.

Each delivery claims the update under a token of its own, so a claim is safe
both ways:

- **sent twice**: redis-py sends a command again after a dropped connection,
  and the claim may have run the first time; finding its own token, the
  delivery still holds the update (a plain ``SET NX`` read it as a duplicate
  and dropped it);
- **given up**: a claim that timed out may still run once the store catches
  up, and then the redelivery Telegram sends for the 503 would be dropped as
  a duplicate. The delivery gives its claim up instead: its token joins the
  update's released tokens, its claim goes if it ran, and it can no longer
  take the update if it runs late. Any other delivery finds it free.
"""

from __future__ import annotations

from redis.asyncio import Redis

# KEYS: the claim, the released tokens. ARGV: token, seconds to keep them.
# Returns 1 when this token holds the update.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return 1 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
if held and redis.call('SISMEMBER', KEYS[2], held) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

_RELEASE = """
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class UpdateClaims:
    """Claims on updates, kept ``ttl`` seconds: longer than Telegram redelivers."""

    def __init__(self, store: Redis, *, bot_id: int, ttl: int) -> None:
        self._prefix = f"upd:{bot_id}:"
        self._ttl = ttl
        self._claim = store.register_script(_CLAIM)
        self._release = store.register_script(_RELEASE)

    async def claim(self, update_id: int, token: str) -> bool:
        """Whether this delivery (``token``) is the one to handle ``update_id``."""
        return bool(await self._claim(keys=self._keys(update_id), args=[token, self._ttl]))

    async def release(self, update_id: int, token: str) -> None:
        """Give the claim up: whether it ran, runs later or never does."""
        await self._release(keys=self._keys(update_id), args=[token, self._ttl])

    def _keys(self, update_id: int) -> list[str]:
        claim = f"{self._prefix}{update_id}"
        return [claim, f"{claim}:released"]
