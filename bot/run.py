"""Running the bot: reach Telegram, then poll or serve the webhook until a signal.

Beside the composition root (``bot.app``), which builds what these loops run.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.app import App, build_app
from bot.cards.flood_guard import drain_seconds
from bot.config import ConfigError, Settings
from bot.telegram.commands import register_commands
from bot.telegram.patience import patiently
from bot.telegram.webhook import WebhookIntake, run_web_server, set_webhook

log = logging.getLogger(__name__)

# Updates handled at once, at most: past it, polling stops taking more and the
# webhook answers 503 (Telegram delivers again later). A Redis stall otherwise
# piles up tasks, each with a Redis connection, until the process runs out of
# file descriptors.
MAX_UPDATES_IN_FLIGHT = 500


def freeze_startup_heap() -> None:
    """Leave what start-up built out of every later garbage collection.

    aiogram's types and pydantic's schemas are ~230,000 objects that live as
    long as the process; a full collection over them stalled every chat for
    ~0.2 s on a small VM, whenever enough new objects had piled up.
    """
    gc.collect()
    gc.freeze()


class StartupError(Exception):
    """The bot cannot start for a reason outside its settings (Telegram unreachable)."""


async def run(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: webhook mode when WEBHOOK_URL is set, else polling."""
    async with build_app(settings) as app:
        await reach_telegram(app.bot, settings)
        await register_commands(app.bot, app.services.i18n, agent_choice=settings.agent_choice_on)
        freeze_startup_heap()
        if settings.webhook_url:
            await _run_webhook(app)
        else:
            await _run_polling(app)


async def reach_telegram(bot: Bot, settings: Settings, *, patience: float = 30.0) -> None:
    """Ask Telegram who the bot is before anything else.

    A refused token is a ``ConfigError`` (it names BOT_TOKEN); a server that
    does not answer (it may be starting beside the bot) is asked again for
    ``patience`` seconds, then a ``StartupError``. Neither carries Telegram's
    words, which can hold the request's URL, and so the token.
    """
    where = settings.telegram_api_url or "api.telegram.org"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = 1.0
    while True:
        try:
            await bot.get_me()
            return
        except (TelegramUnauthorizedError, TelegramNotFound):
            raise ConfigError(f"BOT_TOKEN: {where} refused this token") from None
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as error:
            if loop.time() + pause > deadline:
                reason = type(error).__name__
                raise StartupError(f"cannot reach Telegram at {where} ({reason})") from None
            log.warning("Telegram not reachable yet at %s; asking again in %.0f s", where, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 8.0)


async def _run_polling(app: App) -> None:
    settings = app.settings
    runner = None
    if settings.metrics_port:
        runner = await run_web_server(
            app.web_app(),
            settings.web_server_host,
            settings.metrics_port,
            port_setting="METRICS_PORT",
        )
    try:
        await patiently(
            lambda: app.bot.delete_webhook(drop_pending_updates=False), what="deleteWebhook"
        )
        await app.dispatcher.start_polling(
            app.bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            close_bot_session=False,
            tasks_concurrency_limit=MAX_UPDATES_IN_FLIGHT,
        )
        await app.updates.drain(app.begin_stop())
    finally:
        if runner is not None:
            await runner.cleanup()


async def _run_webhook(app: App) -> None:
    settings = app.settings
    if settings.webhook_secret is None:  # the settings refuse this already; never serve open
        raise ConfigError("WEBHOOK_SECRET is required in webhook mode (WEBHOOK_URL is set)")
    secret = settings.webhook_secret.get_secret_value()
    intake = WebhookIntake(
        app.dispatcher,
        app.bot,
        app.store,
        path=settings.webhook_path,
        secret=secret,
        drain_timeout=drain_seconds(settings),
        max_in_flight=MAX_UPDATES_IN_FLIGHT,
    )
    runner = await run_web_server(
        app.web_app(intake), settings.web_server_host, settings.web_server_port
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        url = f"{settings.webhook_url}{settings.webhook_path}"
        await set_webhook(app.bot, app.dispatcher, url=url, secret=secret)
        log.info(
            "webhook mode: listening on %s:%s", settings.web_server_host, settings.web_server_port
        )
        await stop.wait()
        app.begin_stop()
        await intake.drain()
    finally:
        await runner.cleanup()
