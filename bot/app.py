"""The composition root: builds every long-lived object once and runs the bot.

Clients, the store, services and the Dispatcher are made here and handed to
handlers as keyword arguments (``Services``). No globals elsewhere.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import TelegramObject
from aiohttp import web
from redis.asyncio import Redis

from bot.balance.breaker import Breaker
from bot.balance.daily_usage import DailyCounters
from bot.balance.ledger import QuotaLedger
from bot.balance.pacing import Pacer
from bot.balance.upstream_gate import UpstreamGate
from bot.cards.inline import InlineCards
from bot.cards.photo_download import PhotoDownloader
from bot.cards.sending import CardSender
from bot.cards.service import CardService
from bot.cards.state import CardStore
from bot.cards.taps import CardTaps
from bot.catbuy.client import CatBuyClient
from bot.config import ConfigError, Settings
from bot.i18n.language import LanguagePrefs
from bot.i18n.user_locale import UserLocale, create_i18n
from bot.links.public_hosts import HostResolver
from bot.links.short_links import ShortLinkResolver
from bot.lookup.item_cache import ItemCache
from bot.lookup.service import LookupService
from bot.ops.metrics import Metrics
from bot.reports.admin_notices import AdminNotifier
from bot.reports.outcomes import UpdateOutcomes, upstream_recorder
from bot.risk.service import RiskService
from bot.storage.store import open_store
from bot.telegram.answer_models import keep_response_models
from bot.telegram.chat_rights import ChatRights
from bot.telegram.commands import register_commands
from bot.telegram.flood_limits import TelegramLimits
from bot.telegram.webhook import (
    WebhookIntake,
    create_web_app,
    readiness,
    run_web_server,
    set_webhook,
)

log = logging.getLogger(__name__)

IMAGE_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# What an aiogram middleware passes an event on to.
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# How long a stopping bot waits for the updates under way (the webhook's drain too).
DRAIN_SECONDS = 20.0
# Updates handled at once, at most: past it, polling stops taking more and the
# webhook answers 503 (Telegram delivers again later). A Redis stall otherwise
# piles up tasks, each with a Redis connection, until the process runs out of
# file descriptors.
MAX_UPDATES_IN_FLIGHT = 500


def create_bot(
    settings: Settings, session: BaseSession | None = None, limits: TelegramLimits | None = None
) -> Bot:
    """The Bot, its requests kept to Telegram's flood limits (``limits``, else new ones)."""
    keep_response_models()
    if session is None and settings.telegram_api_url:
        api = TelegramAPIServer.from_base(settings.telegram_api_url)
        session = AiohttpSession(api=api)
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    bot.session.middleware(limits or telegram_limits(settings))
    return bot


def telegram_limits(settings: Settings) -> TelegramLimits:
    return TelegramLimits(
        chat_interval=settings.telegram_send_interval,
        group_per_minute=settings.telegram_group_per_minute,
    )


class Services(BaseMiddleware):
    """Hands the services to a handler that takes the event, as keyword arguments.

    Not ``Dispatcher.workflow_data``: aiogram copies those into every update's
    arguments at every step, which made link-free chatter cost 17% more.
    """

    def __init__(self, services: dict[str, Any]) -> None:
        self._services = services

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data.update(self._services)
        return await handler(event, data)


class UpdatesInFlight(BaseMiddleware):
    """Outer update middleware: the updates being handled, so a stop can wait for them.

    aiogram's polling runs each update as a task of its own and does not wait
    for them when it stops; without this, a paid look-up under way at SIGTERM
    lost its card when the clients closed under it.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is None:
            return await handler(event, data)
        self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self._tasks.discard(task)

    async def drain(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the updates under way to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)


def create_dispatcher(
    i18n_middleware: UserLocale, services: dict[str, Any], updates: UpdatesInFlight
) -> Dispatcher:
    """A Dispatcher with every router; ``services`` reach handlers as keyword arguments."""
    from handlers import create_router  # the one place bot/ imports handlers/
    from handlers.errors import on_error

    # No handler keeps conversation state: without FSM, aiogram skips a storage
    # look-up and an isolation lock on every update, chatter included.
    dispatcher = Dispatcher(disable_fsm=True)
    provide = Services(services)
    for kind, observer in (
        ("message", dispatcher.message),
        ("callback", dispatcher.callback_query),
        ("inline", dispatcher.inline_query),
    ):
        observer.middleware(provide)
        observer.middleware(UpdateOutcomes(services["metrics"], kind))
        observer.middleware(i18n_middleware)
    dispatcher.my_chat_member.middleware(provide)
    dispatcher.update.outer_middleware(updates)
    dispatcher.errors.middleware(provide)
    dispatcher.include_router(create_router())
    dispatcher.errors.register(on_error)
    return dispatcher


@dataclass
class App:
    """Everything the running bot is made of."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    store: Redis
    services: dict[str, Any]
    metrics: Metrics
    updates: UpdatesInFlight

    def web_app(self, webhook: WebhookIntake | None = None) -> web.Application:
        """Health, readiness and metrics (plus the webhook in webhook mode)."""
        ready = readiness(self.store, self.services["breaker"].is_open)
        return create_web_app(metrics=self.metrics, ready=ready, webhook=webhook)


@asynccontextmanager
async def build_app(
    settings: Settings,
    *,
    bot_session: BaseSession | None = None,
    catbuy_transport: httpx.AsyncBaseTransport | None = None,
    images_transport: httpx.AsyncBaseTransport | None = None,
    shortlinks_transport: httpx.AsyncBaseTransport | None = None,
    resolve_host: HostResolver | None = None,
) -> AsyncIterator[App]:
    """Build the bot and its services; close them all on the way out.

    ``bot_session`` and the transports let tests and benchmarks put the
    outside services' fakes at their HTTP boundary.
    """
    store = open_store(settings.redis_url)
    metrics = Metrics()
    limits = telegram_limits(settings)
    bot = create_bot(settings, bot_session, limits)
    catbuy = CatBuyClient(
        settings.catbuy_base_url,
        settings.catbuy_api_key,
        timeout=settings.catbuy_timeout_seconds,
        transport=catbuy_transport,
        on_call=upstream_recorder(metrics),
    )
    images = httpx.AsyncClient(timeout=IMAGE_TIMEOUT, transport=images_transport)
    resolver = ShortLinkResolver(store, transport=shortlinks_transport, resolve_host=resolve_host)
    breaker = Breaker(store, cooldown_seconds=settings.breaker_cooldown_seconds)
    pacer = Pacer(store, rps=settings.catbuy_rps, max_wait=settings.max_queue_wait_seconds)
    gate = UpstreamGate(pacer, breaker)
    counters = DailyCounters(store)
    ledger = QuotaLedger(
        store,
        user_quota=settings.user_daily_quota,
        chat_quota=settings.chat_daily_quota,
        daily_budget=settings.daily_budget_requests,
    )
    cache = ItemCache(store, ttl_seconds=settings.cache_ttl_seconds)
    lookup = LookupService(
        catbuy, gate, ledger, cache, counters, timeout=settings.catbuy_timeout_seconds
    )
    cards = CardStore(store, ttl_seconds=settings.picker_ttl_seconds)
    rights = ChatRights()
    sender = CardSender(bot, PhotoDownloader(images, resolve_host=resolve_host), store, rights)
    prefs = LanguagePrefs(store)
    i18n = create_i18n()
    notifier = AdminNotifier(bot, settings, prefs, i18n)
    card_service = CardService(
        bot, lookup, cards, sender, notifier, settings, metrics, rights, limits
    )
    card_taps = CardTaps(cards, sender, i18n, settings.buy_url_template)
    inline_cards = InlineCards(bot, lookup, cards, sender, store, settings)
    risk = RiskService(
        catbuy,
        gate,
        store,
        daily_budget=settings.risk_daily_budget,
        repeat_seconds=settings.risk_repeat_seconds,
        timeout_seconds=settings.catbuy_timeout_seconds,
        counters=counters,
    )
    services: dict[str, Any] = {
        "settings": settings,
        "lookup": lookup,
        "cards": cards,
        "card_service": card_service,
        "card_taps": card_taps,
        "inline_cards": inline_cards,
        "notifier": notifier,
        "resolver": resolver,
        "ledger": ledger,
        "counters": counters,
        "breaker": breaker,
        "risk": risk,
        "prefs": prefs,
        "chat_rights": rights,
        "metrics": metrics,
        "i18n": i18n,
    }
    updates = UpdatesInFlight()
    dispatcher = create_dispatcher(UserLocale(i18n, prefs), services, updates)
    app = App(settings, bot, dispatcher, store, services, metrics, updates)
    try:
        yield app
    finally:
        await inline_cards.aclose()
        await lookup.aclose()
        await pacer.aclose()
        await resolver.aclose()
        await images.aclose()
        await catbuy.aclose()
        await bot.session.close()
        await cache.aclose()
        await counters.flush()
        await store.aclose()


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
        await register_commands(app.bot, app.services["i18n"])
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
        except (TelegramNetworkError, TelegramServerError) as error:
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
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.dispatcher.start_polling(
            app.bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            close_bot_session=False,
            tasks_concurrency_limit=MAX_UPDATES_IN_FLIGHT,
        )
        log.info("stopping: draining updates in flight")
        await app.updates.drain(DRAIN_SECONDS)
    finally:
        if runner is not None:
            await runner.cleanup()


async def _run_webhook(app: App) -> None:
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    intake = WebhookIntake(
        app.dispatcher,
        app.bot,
        app.store,
        path=settings.webhook_path,
        secret=secret,
        drain_timeout=DRAIN_SECONDS,
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
        log.info("stopping: draining updates in flight")
        await intake.drain()
    finally:
        await runner.cleanup()
