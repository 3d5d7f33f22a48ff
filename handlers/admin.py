"""/quota for everyone, /stats for admins in a private chat."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from redis.exceptions import RedisError

from bot.cards.refusals import store_down_text
from bot.config import Settings
from bot.lookup.service import LookupService
from bot.reports.usage_view import quota_text, stats_text
from bot.risk.service import RiskService
from handlers.filters import FromAdmin, InPrivate, in_private, quota_holder


async def on_quota(message: Message, lookup: LookupService, settings: Settings) -> None:
    user_id = quota_holder(message)
    in_group = not in_private(message)
    try:
        status = await lookup.quota(
            user_id, message.chat.id if in_group else None, is_admin=settings.is_admin(user_id)
        )
    except RedisError:
        await message.answer(store_down_text())
        return
    # In a group, a reply: whose look-ups these are.
    await message.answer(
        quota_text(status),
        reply_to_message_id=message.message_id if in_group else None,
        allow_sending_without_reply=True,
    )


async def on_stats(message: Message, lookup: LookupService, risk: RiskService) -> None:
    """An admin in a private chat (the router's filters): today's use and spend."""
    user_id = message.from_user.id if message.from_user else 0
    try:
        stats = await lookup.daily_stats()
        quota = await lookup.quota(user_id, is_admin=True)
        risk_stats = await risk.today()
    except RedisError:
        await message.answer(store_down_text())
        return
    await message.answer(stats_text(stats, quota, risk_stats))


async def on_stats_in_group(message: Message) -> None:
    """The operator's spend is not the group's, whoever asks."""
    await message.answer(_("/stats works only in a private chat with me."))


async def on_stats_from_stranger(message: Message) -> None:
    await message.answer(_("This command is for the bot's admins."))


def create_router() -> Router:
    router = Router(name="admin")
    router.message.register(on_quota, Command("quota"))

    admins = Router(name="admin.admins")
    admins.message.filter(InPrivate(), FromAdmin())
    admins.message.register(on_stats, Command("stats"))

    # What the admins' router left: the chat type is answered first.
    refusals = Router(name="admin.refusals")
    refusals.message.register(on_stats_in_group, Command("stats"), ~InPrivate())
    refusals.message.register(on_stats_from_stranger, Command("stats"))

    router.include_routers(admins, refusals)
    return router
