"""Chats the bot may not write in, or not send photos to, as Telegram last said.

A group that muted or removed the bot would otherwise cost a paid look-up for
every link while no card can reach it; a group that forbids media would cost
each card a refused photo, a download and a refused upload before its text.
A refusal is remembered in this process for ``FORGET_AFTER`` seconds, or until
Telegram reports that the bot's rights in the chat changed (``my_chat_member``).
"""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from cachetools import TTLCache

FORGET_AFTER = 120.0
CHATS_KEPT = 10_000
# Telegram's words (400) for a chat the bot may not write in at all.
_MUTED = (
    "not enough rights to send text messages",
    "have no rights to send a message",
    "chat_write_forbidden",
    "chat_restricted",
)
_NO_PHOTOS = "not enough rights to send photos"


def forbids_photos(error: TelegramAPIError) -> bool:
    return _NO_PHOTOS in error.message.lower()


class ChatRights:
    """What the bot may do in a chat, by Telegram's latest refusal or report."""

    def __init__(self, forget_after: float = FORGET_AFTER) -> None:
        self._muted: TTLCache[int, bool] = TTLCache(CHATS_KEPT, ttl=forget_after)
        self._no_photos: TTLCache[int, bool] = TTLCache(CHATS_KEPT, ttl=forget_after)

    def may_write(self, chat_id: int) -> bool:
        return chat_id not in self._muted

    def may_send_photos(self, chat_id: int) -> bool:
        return chat_id not in self._no_photos

    def learn(self, chat_id: int, error: TelegramAPIError) -> None:
        """Remember what a refusal says about the chat, if anything."""
        message = error.message.lower()
        if isinstance(error, TelegramForbiddenError) or any(m in message for m in _MUTED):
            self._muted[chat_id] = True
        elif _NO_PHOTOS in message:
            self._no_photos[chat_id] = True

    def report(self, chat_id: int, *, may_write: bool, may_send_photos: bool) -> None:
        """Telegram says what the bot's rights in the chat now are."""
        for known, allowed in ((self._muted, may_write), (self._no_photos, may_send_photos)):
            if allowed:
                known.pop(chat_id, None)
            else:
                known[chat_id] = True
