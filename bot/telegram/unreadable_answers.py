"""An answer that is not the Bot API's JSON is a temporary server error.

When Telegram's front end, or a proxy in front of a self-hosted Bot API, has
no server behind it, it answers with an HTML page (a "502 Bad Gateway").
aiogram then raises ``ClientDecodeError``, which is not one of its
``TelegramAPIError``s: every ``except TelegramAPIError`` (the start-up retry,
the command menu, the card send, the tap's answer, the error handler) would let
it through as a crash. Read at the request middleware, it becomes an
``UnreadableAnswer``, a ``TelegramServerError``, and is handled like any 5xx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.exceptions import ClientDecodeError, TelegramServerError
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod


class UnreadableAnswer(TelegramServerError):
    """Telegram answered something that is not the Bot API's JSON.

    ``delivered``: the answer was JSON saying ``ok`` with a result aiogram could
    not read, so the request did take effect and must not be sent again.
    """

    def __init__(self, method: TelegramMethod[Any], *, delivered: bool) -> None:
        # Never the page itself: it can be long, and may echo the request's URL
        # (which holds the bot token).
        super().__init__(method=method, message="Bad Gateway: the answer was not the Bot API's")
        self.delivered = delivered


async def read_answer(
    make_request: NextRequestMiddlewareType[TelegramType],
    bot: Bot,
    method: TelegramMethod[TelegramType],
) -> Response[TelegramType]:
    """``make_request``, with an unreadable answer raised as ``UnreadableAnswer``."""
    try:
        return await make_request(bot, method)
    except ClientDecodeError as error:
        data = error.data
        delivered = isinstance(data, dict) and data.get("ok") is True
        raise UnreadableAnswer(method, delivered=delivered) from None
