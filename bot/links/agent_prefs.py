"""Which shopping agent a shopper or a group picked with /agent, kept in the store.

A private chat's choice is the user's; a group's is the group's (set by its
admins), and every card there carries it, whoever pasted. Chat ids of groups
are negative and user ids positive, so one key space holds both. Only slugs
of the agent table are stored or returned: a row dropped from the table
leaves its choosers with no agent, not a broken button.
"""

from __future__ import annotations

import logging

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.links.agents import by_slug

log = logging.getLogger(__name__)

# A choice read from the store is trusted this long in this process, so a
# busy group's pastes need no round trip for it; a change made here shows at once.
CHOICE_FRESH_SECONDS = 5.0
CHOICES_KEPT = 10_000
_UNKNOWN = "?"


class AgentPrefs:
    """The agent each chat holder (a user in private, a group) chose."""

    def __init__(self, store: Redis, *, fresh_seconds: float = CHOICE_FRESH_SECONDS) -> None:
        self._store = store
        self._recent: TTLCache[int, str | None] = TTLCache(CHOICES_KEPT, ttl=fresh_seconds)

    @staticmethod
    def _key(holder: int) -> str:
        return f"agent:{holder}"

    async def get(self, holder: int) -> str | None:
        """The chosen agent's slug, or None (none chosen, or the store unreachable:
        a card then goes out without the agent's button rather than not at all)."""
        recent = self._recent.get(holder, _UNKNOWN)
        if recent != _UNKNOWN:
            return recent
        try:
            value = await self._store.get(self._key(holder))
        except RedisError:
            log.warning("store unreachable: card without the chosen agent")
            return None
        slug = value.decode() if isinstance(value, bytes) else None
        agent = by_slug(slug) if slug else None
        chosen = agent.slug if agent else None
        self._recent[holder] = chosen
        return chosen

    async def set(self, holder: int, slug: str | None) -> bool:
        """Store ``slug`` (None: no agent); False for a slug the table does not know."""
        if slug is None:
            await self._store.delete(self._key(holder))
            self._recent[holder] = None
            return True
        agent = by_slug(slug)
        if agent is None:
            return False
        await self._store.set(self._key(holder), agent.slug)
        self._recent[holder] = agent.slug
        return True
