"""Cheap async pre-checks that keep link-free chatter cheap (see TRAPS.md)."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message


def message_text(message: Message) -> str | None:
    return message.text or message.caption


class IsCommand(Filter):
    """Text that starts with ``/``: the command routers look no further otherwise."""

    async def __call__(self, message: Message) -> bool:
        text = message_text(message)
        return text is not None and text.startswith("/")
