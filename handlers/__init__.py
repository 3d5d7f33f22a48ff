"""Thin aiogram routers, one feature a module."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, card, errors, lang, links, risk, start
from handlers.filters import IsCommand


def create_routers() -> list[Router]:
    """Fresh routers for one Dispatcher.

    Links come first (the hot path). Everything else sits behind the commands
    router, whose one cheap root filter turns chatter away before any other
    router is tried; callbacks pass it (the filter is on messages only), and
    the card router's catch-all answers last.
    """
    commands = Router(name="commands")
    commands.message.filter(IsCommand())
    commands.include_routers(
        start.create_router(),
        lang.create_router(),
        admin.create_router(),
        risk.create_router(),
        card.create_router(),
    )
    return [links.create_router(), commands, errors.create_router()]
