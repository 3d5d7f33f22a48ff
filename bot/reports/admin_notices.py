"""Telling admins, in private, that the budget ran out or paid calls stopped.

The look-up and risk services decide *when* (once a day, once per cooldown,
across replicas); this words the notices and delivers them, in each admin's
language.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.balance.breaker import BreakerReason
from bot.config import Settings
from bot.i18n.formatting import duration, format_count
from bot.i18n.language import LanguagePrefs
from bot.lookup.results import AdminNotice, LookupResult, NoticeKind

log = logging.getLogger(__name__)


class AdminNotifier:
    """Sends each admin a private notice; a blocked or unknown admin is skipped."""

    def __init__(self, bot: Bot, settings: Settings, prefs: LanguagePrefs, i18n: I18n) -> None:
        self._bot = bot
        self._settings = settings
        self._prefs = prefs
        self._i18n = i18n

    async def handle(self, result: LookupResult) -> None:
        if result.notify_admins is not None:
            await self.notify(result.notify_admins)

    async def breaker_opened(self, reason: BreakerReason) -> None:
        await self.notify(AdminNotice(NoticeKind.BREAKER_OPEN, reason))

    async def notify(self, notice: AdminNotice) -> None:
        for admin_id in sorted(self._settings.admin_ids):
            locale = await self._prefs.locale(admin_id, None)
            with self._i18n.use_locale(locale):
                if notice.kind is NoticeKind.BUDGET_EXHAUSTED:
                    text = budget_notice(self._settings.daily_budget_requests)
                else:
                    text = breaker_notice(notice.reason, self._settings.breaker_cooldown_seconds)
            try:
                await self._bot.send_message(admin_id, text)
            except TelegramAPIError as error:
                log.warning("admin notice not delivered: %s", error.message)


def breaker_notice(reason: BreakerReason | None, cooldown_seconds: int) -> str:
    """For admins, in private: why paid calls stopped, for how long, and what to do."""
    paused = duration(cooldown_seconds)
    if reason is BreakerReason.AUTH:
        return _(
            "⚠️ CatBuy refused the API key (401). Paid calls are paused for {duration}. "
            "Check CATBUY_API_KEY."
        ).format(duration=paused)
    return _(
        "⚠️ The CatBuy balance is too low (402). Paid calls are paused for {duration}. "
        "Top up the balance in the CatBuy portal."
    ).format(duration=paused)


def budget_notice(budget: int) -> str:
    return _(
        "⚠️ Today's look-up budget ({budget}) is used up. Look-ups resume at 00:00 UTC; "
        "raise DAILY_BUDGET_REQUESTS to allow more."
    ).format(budget=format_count(budget))
