"""Start-up calls that wait for Telegram instead of giving up at its first error.

At start the Bot API may be starting beside the bot, or a proxy in front of it
may answer an HTML error page for a moment (read as a server error, see
``bot.telegram.unreadable_answers``). Registering the webhook, or removing it
for polling, is asked again for a while before the start-up fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramNetworkError, TelegramServerError

log = logging.getLogger(__name__)

START_UP_PATIENCE = 30.0


async def patiently(
    call: Callable[[], Awaitable[object]], *, what: str, patience: float = START_UP_PATIENCE
) -> None:
    """Run ``call``, asking again on network and server errors (after 1 s, doubling to
    8 s) for ``patience`` seconds; then its last error is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = 1.0
    while True:
        try:
            await call()
            return
        except (TelegramNetworkError, TelegramServerError) as error:
            if loop.time() + pause > deadline:
                raise
            reason = type(error).__name__
            log.warning("%s: Telegram not answering (%s), again in %.0f s", what, reason, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 8.0)
