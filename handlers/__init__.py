"""Thin aiogram routers, one feature a module."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, agent, card, hints, inline, lang, links, membership, risk, start
from handlers.filters import IsCommand


def create_router() -> Router:
    """A fresh router tree for one Dispatcher.

    The Dispatcher turns link-free group chatter away (``ForTheBot``) before
    this tree is tried, and hands the services over at its root, so filters
    below may read them too. Callbacks pass the gate (it filters messages
    only); the card router's catch-all answers callbacks last, and the hints
    router private messages no other took.
    """
    commands = Router(name="commands")
    commands.message.filter(IsCommand())
    commands.include_routers(
        start.create_router(),
        lang.create_router(),
        agent.create_router(),
        admin.create_router(),
        risk.create_router(),
        card.create_router(),
    )
    root = Router(name="bot")
    root.include_routers(
        links.create_router(),
        commands,
        membership.create_router(),
        hints.create_router(),
        inline.create_router(),
    )
    return root
