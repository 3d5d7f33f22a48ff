"""Inline keyboards refused as Telegram refuses them: size, callback data bytes, URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram.limits import (
    BUTTON_DATA_INVALID,
    BUTTON_WITHOUT_ACTION,
    BUTTONS_LIMIT,
    BUTTONS_PER_ROW_LIMIT,
    CALLBACK_DATA_LIMIT,
    MARKUP_TOO_LONG,
    JsonDict,
    bad_request,
)


def check_reply_markup(markup: Any) -> None:
    """Refuse an inline keyboard the way Telegram does: size, callback_data bytes, URLs."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if sum(len(row) for row in rows) > BUTTONS_LIMIT or any(
        len(row) > BUTTONS_PER_ROW_LIMIT for row in rows
    ):
        raise bad_request(MARKUP_TOO_LONG)
    for row in rows:
        for button in row:
            _check_button(button)


def _check_button(button: JsonDict) -> None:
    actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
    if not actions:
        raise bad_request(BUTTON_WITHOUT_ACTION)
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode())
        if not 1 <= size <= CALLBACK_DATA_LIMIT:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        url = str(button["url"])
        parts = urlsplit(url)
        valid = (parts.scheme in {"http", "https"} and bool(parts.hostname)) or (
            parts.scheme == "tg"
        )
        if not valid or any(char.isspace() for char in url):
            raise bad_request(
                f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
            )
