"""The bot's own rights in a chat changed: what it may send there now."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import ChatMemberBanned, ChatMemberLeft, ChatMemberRestricted, ChatMemberUpdated

from bot.telegram.chat_rights import ChatRights


async def on_my_rights(update: ChatMemberUpdated, chat_rights: ChatRights) -> None:
    member = update.new_chat_member
    if isinstance(member, ChatMemberLeft | ChatMemberBanned):
        chat_rights.report(update.chat.id, may_write=False, may_send_photos=False)
    elif isinstance(member, ChatMemberRestricted):
        chat_rights.report(
            update.chat.id,
            may_write=member.can_send_messages,
            may_send_photos=member.can_send_photos,
        )
    else:  # a member or an administrator again
        chat_rights.report(update.chat.id, may_write=True, may_send_photos=True)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(on_my_rights)
    return router
