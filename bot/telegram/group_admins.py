"""Whether someone may change a group's settings: a group admin, as Telegram says.

Asked with ``getChatMember`` and remembered for a minute, so a few taps on a
settings keyboard cost one Bot API call. A message sent on behalf of the group
itself (an anonymous admin) is an admin's. When Telegram cannot say, the answer
is no: a group's settings are changed by its admins only.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from cachetools import TTLCache

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 60.0
ANSWERS_KEPT = 10_000
_ADMINS = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})


class GroupAdmins:
    """Answers "is this user an admin of this group?", remembering Telegram's word briefly."""

    def __init__(self, bot: Bot, remember_seconds: float = REMEMBER_SECONDS) -> None:
        self._bot = bot
        self._known: TTLCache[tuple[int, int], bool] = TTLCache(ANSWERS_KEPT, ttl=remember_seconds)

    async def is_admin(
        self, chat_id: int, user_id: int, *, on_behalf_of: int | None = None
    ) -> bool:
        """``on_behalf_of``: the chat a message was sent as (the group: an anonymous admin)."""
        if on_behalf_of == chat_id:
            return True
        known = self._known.get((chat_id, user_id))
        if known is not None:
            return known
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:
            log.info("could not check a group admin: %s", error.message)
            return False
        admin = member.status in _ADMINS
        self._known[(chat_id, user_id)] = admin
        return admin
