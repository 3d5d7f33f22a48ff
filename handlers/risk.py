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
from handlers.filters import FromAdmin, InPrivate

RISK_COMMANDS = ("risk", "risklog")


async def on_risk(
    message: Message,
    command: CommandObject,
    settings: Settings,
    risk: RiskService,
    notifier: AdminNotifier,
    metrics: Metrics,
    bot: Bot,
) -> None:
    """An admin in a private chat (the router's filters) checks one value."""
    if message.from_user is None:  # the filters let none through; for the type checker
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


async def on_risk_log(message: Message, risk: RiskService) -> None:
    try:
        records = await risk.audit_log()
    except RedisError:
        await message.answer(store_down_text())
        return
    await message.answer(risk_log_text(records))


async def on_risk_in_group(message: Message) -> None:
    """Even an admin gets only "use a private chat": the value is never echoed."""
    await message.answer(private_only_text())


async def on_risk_from_stranger(message: Message) -> None:
    await message.answer(refusal_text())


def create_router() -> Router:
    router = Router(name="risk")

    admins = Router(name="risk.admins")
    admins.message.filter(InPrivate(), FromAdmin())
    admins.message.register(on_risk, Command("risk"))
    admins.message.register(on_risk_log, Command("risklog"))

    # What the admins' router left: the chat type is answered first.
    refusals = Router(name="risk.refusals")
    refusals.message.register(on_risk_in_group, Command(*RISK_COMMANDS), ~InPrivate())
    refusals.message.register(on_risk_from_stranger, Command(*RISK_COMMANDS))

    router.include_routers(admins, refusals)
    return router
