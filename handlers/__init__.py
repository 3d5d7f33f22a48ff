"""Thin aiogram routers, one feature a module."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, card, hints, inline, lang, links, membership, risk, start
from handlers.filters import ForTheBot, IsCommand


def create_router() -> Router:
    """A fresh router tree for one Dispatcher.

    One cheap root filter turns link-free group chatter away before any other
    router is tried (chatter costs what one async filter costs). Callbacks
    pass it (it filters messages only); the card router's catch-all answers
    callbacks last, and the hints router private messages no other took.
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
    root = Router(name="bot")
    root.message.filter(ForTheBot())
    root.include_routers(
        links.create_router(),
        commands,
        membership.create_router(),
        hints.create_router(),
        inline.create_router(),
    )
    return root
