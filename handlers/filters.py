"""Cheap pre-checks that keep link-free chatter cheap.

Async ``Filter`` classes, not magic filters: aiogram runs a sync callable in a
thread on every update, about three times the cost of the same check as a
coroutine.
"""

from __future__ import annotations

import re

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message, MessageEntity

from bot.config import Settings
from bot.links.message import might_hold_link

_LINK_TYPES = frozenset({"url", "text_link"})
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?(?!\S)")


def message_text(message: Message) -> str | None:
    return message.text or message.caption


def message_entities(message: Message) -> list[MessageEntity]:
    return message.entities or message.caption_entities or []


def is_command(text: str | None) -> bool:
    """``/name`` or ``/name@bot`` first, as Telegram reads a command: "/r/FashionReps
    https://…" and "/ https://…" are pastes."""
    return text is not None and _COMMAND.match(text) is not None


def holds_link(message: Message) -> bool:
    text = message_text(message)
    if not text or is_command(text):  # commands are the command routers'
        return False
    if any(e.type in _LINK_TYPES for e in message_entities(message)):
        return True
    return might_hold_link(text, ())


class IsCommand(Filter):
    """Text that starts with a command."""

    async def __call__(self, message: Message) -> bool:
        return is_command(message_text(message))


class HoldsLink(Filter):
    """A message that may hold a marketplace link (never a command)."""

    async def __call__(self, message: Message) -> bool:
        return holds_link(message)


class ForTheBot(Filter):
    """A command, a possible link, or anything in a private chat (it gets a hint):
    everything else is group chatter, turned away at once."""

    async def __call__(self, message: Message) -> bool:
        return is_command(message_text(message)) or holds_link(message) or in_private(message)


class InPrivate(Filter):
    """A message in a private chat with the bot."""

    async def __call__(self, message: Message) -> bool:
        return in_private(message)


class FromAdmin(Filter):
    """A message from one of the bot's admins (ADMIN_IDS)."""

    async def __call__(self, message: Message, settings: Settings) -> bool:
        return settings.is_admin(message.from_user.id if message.from_user else None)


def in_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def quota_holder(message: Message) -> int:
    """Whose daily quota a message spends: the chat it was sent on behalf of (an
    anonymous admin, a channel), else its sender.

    Telegram puts a placeholder user (GroupAnonymousBot, Channel_Bot) in ``from``
    on such messages: keyed on it, every anonymous admin of every group would
    share one quota.
    """
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user else message.chat.id
