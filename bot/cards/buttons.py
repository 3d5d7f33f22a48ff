"""Inline buttons for cards: a dozen or more per card, drawn again on every tap.

``InlineKeyboardButton(...)`` validates its fields and runs four nested pydantic
post-init hooks (~8 µs a button); copying a built button with new text and
data costs half that. Only the bot's own strings go in, so the validation
skipped here has nothing to catch.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton

_TAP = InlineKeyboardButton(text="·", callback_data="·")
_LINK = InlineKeyboardButton(text="·", url="https://t.me")


def tap_button(text: str, data: str) -> InlineKeyboardButton:
    """A button that sends ``data`` back (see ``bot.telegram.callbacks``)."""
    return _TAP.model_copy(update={"text": text, "callback_data": data})


def link_button(text: str, url: str) -> InlineKeyboardButton:
    """A button that opens ``url``."""
    return _LINK.model_copy(update={"text": text, "url": url})
