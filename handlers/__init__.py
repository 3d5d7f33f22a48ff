"""Thin aiogram routers, one feature a module."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, card, lang, links, risk, start


def create_routers() -> list[Router]:
    """Fresh routers for one Dispatcher; the card router's catch-all goes last."""
    return [
        start.create_router(),
        lang.create_router(),
        admin.create_router(),
        risk.create_router(),
        links.create_router(),
        card.create_router(),
    ]
