"""/quota for everyone; /stats (a chart) and /stats csv (a file) for admins in private."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from redis.exceptions import RedisError

from bot.balance.daily_usage import DailyCounters
from bot.cards.refusals import store_down_text
from bot.config import Settings
from bot.lookup.service import LookupService
from bot.reports.dashboard import CSV_DAYS, stats_chart, stats_csv
from bot.reports.usage_view import quota_text
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


async def on_stats(
    message: Message,
    command: CommandObject,
    lookup: LookupService,
    risk: RiskService,
    counters: DailyCounters,
) -> None:
    """An admin in a private chat (the router's filters): the last 30 days as a chart
    with today's figures, or with ``csv`` the daily history as a file."""
    what = (command.args or "").strip().lower()
    if what not in ("", "csv"):
        await message.answer(_("Use /stats for the chart, or /stats csv for the daily file."))
        return
    user_id = message.from_user.id if message.from_user else 0
    try:
        if what == "csv":
            await _send_csv(message, counters)
        else:
            await _send_chart(message, counters, lookup, risk, user_id)
    except RedisError:
        await message.answer(store_down_text())


async def _send_chart(
    message: Message,
    counters: DailyCounters,
    lookup: LookupService,
    risk: RiskService,
    admin_id: int,
) -> None:
    chart = await stats_chart(counters, lookup, risk, admin_id)
    photo = BufferedInputFile(chart.png, filename="stats.png")
    await message.answer_photo(photo, caption=chart.caption)


async def _send_csv(message: Message, counters: DailyCounters) -> None:
    name, data = await stats_csv(counters)
    caption = _("Daily figures for the last {days} days (UTC).").format(days=CSV_DAYS)
    await message.answer_document(BufferedInputFile(data, filename=name), caption=caption)


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
