"""/risk and /risklog: admin risk checks, in a private chat only."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from redis.exceptions import RedisError

from bot.cards.refusals import store_down_text
from bot.config import Settings
from bot.ops.logs import sensitive
from bot.ops.metrics import Metrics
from bot.reports.admin_notices import AdminNotifier
from bot.reports.outcomes import record_risk_check
from bot.risk.service import RiskService
from bot.risk.values import parse_request
from bot.risk.view import (
    invalid_value_text,
    private_only_text,
    refusal_text,
    risk_card,
    risk_log_text,
)
from handlers.filters import in_private


def _refusal(message: Message, settings: Settings) -> str | None:
    """Why this message may not run a check, or None. The chat type comes
    first: in a group even an admin gets only "use a private chat"."""
    if not in_private(message):
        return private_only_text()
    if not settings.is_admin(message.from_user.id if message.from_user else None):
        return refusal_text()
    return None


def create_router() -> Router:
    router = Router(name="risk")

    @router.message(Command("risk"))
    async def on_risk(
        message: Message,
        command: CommandObject,
        settings: Settings,
        risk: RiskService,
        notifier: AdminNotifier,
        metrics: Metrics,
        bot: Bot,
    ) -> None:
        refusal = _refusal(message, settings)
        if refusal is not None or message.from_user is None:
            await message.answer(refusal or refusal_text())
            return
        request = parse_request(command.args, default_region=settings.phone_default_region)
        if request.kind is None or request.value is None:
            await message.answer(invalid_value_text(request.kind, settings.phone_default_region))
            return
        # Whatever logs during the check (a library included) masks the value.
        with sensitive(command.args or "", request.value):
            await bot.send_chat_action(message.chat.id, ChatAction.TYPING)
            outcome = await risk.check(message.from_user.id, request.kind, request.value)
            record_risk_check(metrics, outcome)
            await message.answer(risk_card(request.kind, outcome))
        if outcome.notify_admins and outcome.breaker_reason is not None:
            # The same notice, once per cooldown, as when a product look-up trips it.
            await notifier.breaker_opened(outcome.breaker_reason)

    @router.message(Command("risklog"))
    async def on_risk_log(message: Message, settings: Settings, risk: RiskService) -> None:
        refusal = _refusal(message, settings)
        if refusal is not None:
            await message.answer(refusal)
            return
        try:
            records = await risk.audit_log()
        except RedisError:
            await message.answer(store_down_text())
            return
        await message.answer(risk_log_text(records))

    return router
