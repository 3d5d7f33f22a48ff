"""Keeping a chat's queue of cards as short as a stop can drain.

Telegram takes about one message a second in a chat and twenty a minute in a
group; cards past that wait their turn (``bot.telegram.flood_limits``). A
paste is looked up, and so charged, only when its cards can be sent soon:
not in a group that muted or removed the bot, not when its last card would
wait past ``MAX_SEND_DELAY`` behind the cards queued and those still being
looked up, and, once the process is stopping, not when its cards could not
be sent before the stop's drain ends. A stop waits ``drain_seconds`` for what
is under way, so every card charged before it is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum

from bot.config import Settings
from bot.ops.metrics import Metrics
from bot.telegram.chat_rights import ChatRights
from bot.telegram.flood_limits import TelegramLimits

log = logging.getLogger(__name__)

# A chat whose cards would wait longer than this to be sent gets no new look-up:
# a stop drains for as long as a queued card may wait (``drain_seconds``), so
# the queue is kept as short as a stop can drain. 20 s hold a group's 20 cards
# a minute at Telegram's pace of one a second; past them, the next card would
# wait for the window to roll on, most of a minute.
MAX_SEND_DELAY = 20.0
# Beyond a card's turn: the send itself, a 5xx's one retry, a refused photo
# downloaded (10 s at most) and uploaded.
SEND_SLACK = 10.0


def drain_seconds(settings: Settings) -> float:
    """How long a stop waits for the updates under way: a look-up charged just before
    it, or a card queued behind its chat's sends, ends in its card within this."""
    return max(settings.catbuy_timeout_seconds, MAX_SEND_DELAY) + SEND_SLACK


class Verdict(Enum):
    """Whether a paste is looked up; if not, whether it is told why."""

    LOOK_UP = "look_up"
    SILENCE = "silence"
    RESTARTING = "restarting"  # the process is stopping, and the note can still go out


class FloodGuard:
    """Decides which pastes are looked up, from their chat's queue of cards.

    ``look_up_seconds``: the longest a look-up takes (``CATBUY_TIMEOUT_SECONDS``);
    ``on_flood``: told of each paste turned away because its chat floods.
    """

    def __init__(
        self,
        rights: ChatRights,
        limits: TelegramLimits,
        metrics: Metrics,
        look_up_seconds: float,
        *,
        on_flood: Callable[[], None] | None = None,
    ) -> None:
        self._on_flood = on_flood
        self._rights = rights
        self._limits = limits
        self._metrics = metrics
        self._look_up_seconds = look_up_seconds
        # Items being looked up, per chat: their cards are about to queue.
        self._looking_up: Counter[int] = Counter()
        # Set once the process is stopping: every card must be sent by then.
        self._stop_deadline: float | None = None

    def stop_by(self, deadline: float) -> None:
        """The process stops at ``deadline`` (event loop time): from now on a paste is
        looked up (and charged) only when its cards can be sent before then."""
        self._stop_deadline = deadline

    @contextmanager
    def looking_up(self, chat_id: int, items: int) -> Iterator[None]:
        """``items`` of ``chat_id`` are being looked up: their cards are about to queue."""
        self._looking_up[chat_id] += items
        try:
            yield
        finally:
            self._looking_up[chat_id] -= items
            if not self._looking_up[chat_id]:
                del self._looking_up[chat_id]

    def verdict(self, chat_id: int, *, is_group: bool, items: int) -> Verdict:
        """Whether a paste of ``items`` in ``chat_id`` is looked up (charged)."""
        if is_group and not self._rights.may_write(chat_id):
            log.info("chat %s does not let the bot write: paste not looked up", chat_id)
            return Verdict.SILENCE
        ahead = self._looking_up.get(chat_id, 0) + items - 1
        delay = self._limits.send_delay(chat_id, ahead=max(ahead, 0))
        if delay > MAX_SEND_DELAY:
            log.warning("chat %s is flooding: paste not looked up", chat_id)
            kind = "group_flood" if is_group else "chat_flood"
            self._metrics.quota_refusals.labels(kind=kind).inc()
            if self._on_flood is not None:
                self._on_flood()
            return Verdict.SILENCE
        if self._stop_deadline is None:
            return Verdict.LOOK_UP
        now = asyncio.get_running_loop().time()
        if now + max(self._look_up_seconds, delay) + SEND_SLACK <= self._stop_deadline:
            return Verdict.LOOK_UP
        log.info("stopping: paste in chat %s not looked up", chat_id)
        self._metrics.quota_refusals.labels(kind="stopping").inc()
        if now + delay + SEND_SLACK <= self._stop_deadline:
            return Verdict.RESTARTING
        return Verdict.SILENCE
