"""Thin aiogram routers, one feature a module."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, card, lang, links, risk, start
from handlers.filters import IsCommand


def create_routers() -> list[Router]:
    """Fresh routers for one Dispatcher.

    Links come first (the hot path); commands sit behind one cheap root filter
    so chatter costs one check; the card router's catch-all answers last.
    """
    commands = Router(name="commands")
    commands.message.filter(IsCommand())
    commands.include_routers(
        start.create_router(),
        lang.create_router(),
        admin.create_router(),
        risk.create_router(),
    )
    return [links.create_router(), commands, card.create_router()]
