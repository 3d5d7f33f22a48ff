"""Copied buttons are the same buttons aiogram would build and send."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton

from bot.cards.buttons import link_button, tap_button


def test_a_tap_button_is_what_the_constructor_builds() -> None:
    built = InlineKeyboardButton(text="✅ Black", callback_data="c:tok:o:0:1")
    copied = tap_button("✅ Black", "c:tok:o:0:1")
    assert copied == built
    assert copied.model_dump(exclude_unset=True) == built.model_dump(exclude_unset=True)


def test_a_link_button_is_what_the_constructor_builds() -> None:
    url = "https://item.taobao.com/item.htm?id=1"
    built = InlineKeyboardButton(text="Open on Taobao", url=url)
    copied = link_button("Open on Taobao", url)
    assert copied == built
    assert copied.model_dump(exclude_unset=True) == built.model_dump(exclude_unset=True)


def test_copies_do_not_share_their_text() -> None:
    first, second = tap_button("1/7", "a"), tap_button("2/7", "b")
    assert (first.text, first.callback_data) == ("1/7", "a")
    assert (second.text, second.callback_data) == ("2/7", "b")
