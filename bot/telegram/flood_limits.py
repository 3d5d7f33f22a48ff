"""Keeping to Telegram's flood limits: per-chat send pacing and ``retry_after``.

An aiogram request middleware (this module sits beside the composition root
and speaks aiogram). Telegram allows about one message a second in a chat and
twenty a minute in a group; past that it answers 429 with ``retry_after``, and
aiogram has no retry of its own. Sends to one chat wait their turn in order
(cards queue, none are lost); sends to different chats do not wait for each
other. Edits (picker taps) keep the chat's spacing but never wait for the
group's per-minute window, nor for sends queued behind it. The pacing is per
process: with N replicas (or just after a restart) a group flooding them sees
up to N times the rate, so a send waits out a 429 of up to a minute and more
(a paid card must not be dropped for being early).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import TelegramType

from bot.telegram.unreadable_answers import UnreadableAnswer, read_answer

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

# Methods that put a new message into a chat: paced per chat, and per group
# within the per-minute window.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendMediaGroup",
        "sendDocument",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "copyMessage",
        "forwardMessage",
    }
)
# Edits (picker clicks) keep the per-chat spacing but do not use up a
# group's per-minute sends.
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)
# How long a request waits before its one retry after a 5xx.
SERVER_ERROR_WAIT = 1.0
# Some 429s carry the wait only in the description.
_RETRY_TEXT = re.compile(r"retry after (\d+)", re.IGNORECASE)
# Past this many pacers, forget the idle ones whose spacing has elapsed; the
# next sweep waits until the count doubles, so busy groups (kept for their
# per-minute window) cost a sweep now and then, not one per send.
_SWEEP_AT = 1024


@dataclass
class _ChatPacer:
    """One chat's queues and clocks.

    ``sending``: sends take turns in order (the group window is waited for
    here); ``spacing``: every paced request, sends and edits, one at a time,
    ``next_at`` apart. ``sent``: the group's recent sends.
    """

    sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    spacing: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0
    sent: deque[float] = field(default_factory=deque)
    users: int = 0
    queued: int = 0  # sends waiting for their turn
    held_until: float = 0.0  # a 429's retry_after, while a send waits it out


class TelegramLimits(BaseRequestMiddleware):
    """Request middleware: per-chat pacing, bounded retries on 429, one retry on a 5xx
    (an answer that is not the Bot API's JSON, an HTML error page, counts as one).

    Register with ``bot.session.middleware(TelegramLimits())``.
    ``answerCallbackQuery`` and anything without a ``chat_id`` is never paced.
    A 429 asking for more than ``max_retry_after`` seconds is raised at once:
    waiting that long would outlive the user's patience. A send (a card) waits
    up to ``max_send_retry_after``: past a group's window, Telegram asks for up
    to a minute, and the card is paid for.
    """

    def __init__(
        self,
        *,
        max_tries: int = 3,
        max_retry_after: float = 30.0,
        max_send_retry_after: float = 90.0,
        chat_interval: float = 1.0,
        group_per_minute: int = 20,
        group_window: float = 60.0,
        server_error_wait: float = SERVER_ERROR_WAIT,
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self._max_tries = max_tries
        self._max_retry_after = max_retry_after
        self._max_send_retry_after = max_send_retry_after
        self._chat_interval = chat_interval
        self._group_per_minute = group_per_minute
        self._group_window = group_window
        self._server_error_wait = server_error_wait
        self._pacers: dict[int | str, _ChatPacer] = {}
        self._sweep_at = _SWEEP_AT

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await self._paced(make_request, bot, method)
        except TelegramMigrateToChat as moved:
            # The group became a supergroup while the card was on its way: it goes
            # there (a reply to a message of the old group goes without the reply).
            to_chat = moved.migrate_to_chat_id
            log.info("chat %s moved to %s", getattr(method, "chat_id", None), to_chat)
            moved_method = method.model_copy(update={"chat_id": to_chat})
            return await self._paced(make_request, bot, moved_method)

    async def _paced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None or name not in SEND_METHODS | EDIT_METHODS:
            return await self._with_retries(make_request, bot, method)
        pacer = self._pacers.get(chat_id)
        if pacer is None:
            pacer = self._pacers[chat_id] = _ChatPacer()
        pacer.users += 1
        try:
            if name in EDIT_METHODS:
                return await self._with_retries(make_request, bot, method, pacer)
            waiting = True
            pacer.queued += 1
            try:
                async with pacer.sending:
                    pacer.queued -= 1
                    waiting = False
                    return await self._with_retries(
                        make_request, bot, method, pacer, in_group=_is_group(chat_id)
                    )
            finally:
                if waiting:  # given up while queued
                    pacer.queued -= 1
        finally:
            pacer.users -= 1
            if len(self._pacers) > self._sweep_at:
                self._sweep()
                self._sweep_at = max(_SWEEP_AT, 2 * len(self._pacers))

    def send_delay(self, chat_id: int | str, *, ahead: int = 0) -> float:
        """About how long a new send to ``chat_id`` would wait here: behind the sends
        queued before it and ``ahead`` more to come, spaced, after a 429's hold,
        and in a group within its per-minute window (by this process's count)."""
        pacer = self._pacers.get(chat_id)
        if pacer is None and not ahead:
            return 0.0
        pacer = pacer or _ChatPacer()
        now = asyncio.get_running_loop().time()
        waiting = pacer.queued + ahead
        start = max(pacer.next_at, pacer.held_until, now)
        delay = start - now + waiting * self._chat_interval
        if _is_group(chat_id):
            booked = [t for t in pacer.sent if t > now - self._group_window]
            windows = (len(booked) + waiting) // self._group_per_minute
            if windows:  # the window rolls on from the oldest send in it
                oldest = booked[0] if booked else start
                delay = max(delay, oldest + windows * self._group_window - now)
        return delay

    async def _with_retries(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        pacer: _ChatPacer | None = None,
        *,
        in_group: bool = False,
    ) -> Response[TelegramType]:
        """Each try in the chat's turn (``pacer``); the waits between tries hold up
        only the chat's later sends, never its edits."""
        is_send = method.__api_method__ in SEND_METHODS
        longest = self._max_send_retry_after if is_send else self._max_retry_after
        server_errors = 0
        for attempt in range(1, self._max_tries + 1):
            try:
                return await self._try(make_request, bot, method, pacer, in_group=in_group)
            except TelegramAPIError as exc:
                if isinstance(exc, TelegramServerError):
                    # Mostly Telegram's own hiccup (or a proxy's HTML error page): one
                    # more try, a moment later. Once only: a send that did go through
                    # would arrive twice; and never one known to have gone through.
                    server_errors += 1
                    again = server_errors == 1 and not _delivered(exc)
                    delay: float | None = self._server_error_wait if again else None
                else:
                    delay = _retry_after(exc)
                if delay is None or attempt == self._max_tries or delay > longest:
                    raise
            log.warning(
                "Telegram refused %s for now, retrying in %s s (try %d of %d)",
                method.__api_method__,
                delay,
                attempt,
                self._max_tries,
            )
            if pacer is not None and is_send:
                pacer.held_until = asyncio.get_running_loop().time() + delay
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    async def _try(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        pacer: _ChatPacer | None,
        *,
        in_group: bool,
    ) -> Response[TelegramType]:
        if pacer is None:
            return await read_answer(make_request, bot, method)
        loop = asyncio.get_running_loop()
        sent_at = await self._window_turn(pacer) if in_group else None
        try:
            async with pacer.spacing:
                if (wait := pacer.next_at - loop.time()) > 0:
                    await asyncio.sleep(wait)
                try:
                    return await read_answer(make_request, bot, method)
                finally:
                    pacer.next_at = loop.time() + self._chat_interval
        except TelegramAPIError as error:
            if sent_at is not None and not _delivered(error):  # refused: not in the window
                with contextlib.suppress(ValueError):
                    pacer.sent.remove(sent_at)
            raise

    async def _window_turn(self, pacer: _ChatPacer) -> float:
        """Book the first moment the group's per-minute window has room, and wait
        for it; the moment booked (it counts as sent from now on)."""
        now = asyncio.get_running_loop().time()
        while pacer.sent and pacer.sent[0] <= now - self._group_window:
            pacer.sent.popleft()
        at = now
        if len(pacer.sent) >= self._group_per_minute:
            at = max(now, pacer.sent[-self._group_per_minute] + self._group_window)
        pacer.sent.append(at)
        if at > now:
            try:
                await asyncio.sleep(at - now)
            except BaseException:  # given up before its turn: the moment is free again
                with contextlib.suppress(ValueError):
                    pacer.sent.remove(at)
                raise
        return at

    def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for chat_id, pacer in list(self._pacers.items()):
            idle = pacer.users == 0 and pacer.next_at <= now
            if idle and (not pacer.sent or pacer.sent[-1] <= now - self._group_window):
                del self._pacers[chat_id]


def _is_group(chat_id: int | str) -> bool:
    # Group, supergroup and channel ids are negative; "@name" is a public chat.
    return isinstance(chat_id, str) or chat_id < 0


def _delivered(exc: TelegramAPIError) -> bool:
    return isinstance(exc, UnreadableAnswer) and exc.delivered


def _retry_after(exc: TelegramAPIError) -> float | None:
    if isinstance(exc, TelegramRetryAfter):
        return float(exc.retry_after)
    match = _RETRY_TEXT.search(exc.message)
    return float(match.group(1)) if match else None
