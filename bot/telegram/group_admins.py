"""Whether a user may change a group's settings: its creator or an administrator.

Telegram is asked (``getChatMember``) each time: a group's admins change, and
a wrong "yes" would let any member change every card of the group. An
anonymous admin writes as the group itself (``sender_chat``), which only an
admin can do. A failed question is a "no".
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)

_ADMINS = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})


async def is_group_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError as error:
        log.info("could not ask Telegram who administers chat %s: %s", chat_id, error.message)
        return False
    return member.status in _ADMINS
