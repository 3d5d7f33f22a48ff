"""Telegram's flood control as a test sets it: 429 once a chat got too many messages."""

from __future__ import annotations

import math
from collections import deque
from time import monotonic
from typing import Any

from tests.fakes.telegram.limits import BotApiRefusal


class FloodLimits:
    """Messages a chat may get in 60 s before Telegram answers 429 with ``retry_after``."""

    def __init__(self) -> None:
        self._limits: dict[int | str | None, int] = {}
        self._log: dict[int | str, deque[float]] = {}

    def limit(self, n_per_minute: int, chat_id: int | str | None = None) -> None:
        """Refuse a chat's (every chat's when ``chat_id`` is None) message past n in 60 s."""
        self._limits[chat_id] = n_per_minute

    def check(self, chat_id: Any) -> None:
        """Count one message to ``chat_id``, or refuse it with 429 as Telegram does."""
        if chat_id is None:
            return
        limit = self._limits.get(chat_id, self._limits.get(None))
        if limit is None:
            return
        now = monotonic()
        log = self._log.setdefault(chat_id, deque())
        while log and now - log[0] >= 60:
            log.popleft()
        if len(log) >= limit:
            retry_after = max(1, math.ceil(60 - (now - log[0])))
            raise BotApiRefusal(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        log.append(now)
