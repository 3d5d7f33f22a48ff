"""The composition root: builds every long-lived object once (``bot.run`` runs them).

Clients, the store, services and the Dispatcher are made here and handed to
handlers as keyword arguments (``Services``, one field a keyword). No globals elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

import httpx
from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n
from aiohttp import web
from redis.asyncio import Redis

from bot.balance.breaker import Breaker
from bot.balance.daily_usage import DailyCounters
from bot.balance.ledger import QuotaLedger
from bot.balance.pacing import Pacer
from bot.balance.upstream_gate import UpstreamGate
from bot.cards.buy_links import buy_options
from bot.cards.flood_guard import drain_seconds
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
from bot.links.agent_prefs import AgentPrefs
from bot.links.agents import by_slug
from bot.links.public_hosts import HostResolver, PublicAddressTransport, system_addresses
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
from bot.telegram.flood_limits import TelegramLimits
from bot.telegram.webhook import (
    WebhookIntake,
    create_web_app,
    readiness,
)

log = logging.getLogger(__name__)

IMAGE_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# What an aiogram middleware passes an event on to.
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


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


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived services, built once: each field reaches a handler (and a
    filter) as the keyword argument of its name."""

    settings: Settings
    lookup: LookupService
    cards: CardStore
    card_service: CardService
    card_taps: CardTaps
    inline_cards: InlineCards
    notifier: AdminNotifier
    resolver: ShortLinkResolver
    ledger: QuotaLedger
    counters: DailyCounters
    breaker: Breaker
    risk: RiskService
    prefs: LanguagePrefs
    agent_prefs: AgentPrefs
    chat_rights: ChatRights
    metrics: Metrics
    i18n: I18n

    def as_arguments(self) -> dict[str, Any]:
        """The keyword arguments handlers take, by field name (no copies of the services)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


class HandOverServices(BaseMiddleware):
    """Hands the services to the handlers and filters below it, as keyword arguments.

    Not ``Dispatcher.workflow_data``: aiogram copies those into every update's
    arguments at every step, which made link-free chatter cost 17% more.
    """

    def __init__(self, services: Services) -> None:
        self._arguments = services.as_arguments()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data.update(self._arguments)
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
            _done, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
            if pending:  # the operator should know: a card among them may be lost
                log.warning("drain timed out with %d update(s) unfinished", len(pending))


def create_dispatcher(
    i18n_middleware: UserLocale, services: Services, updates: UpdatesInFlight
) -> Dispatcher:
    """A Dispatcher with every router; ``services`` reach handlers as keyword arguments."""
    from handlers import create_router  # the one place bot/ imports handlers/
    from handlers.errors import on_error
    from handlers.filters import ForTheBot

    # No handler keeps conversation state: without FSM, aiogram skips a storage
    # look-up and an isolation lock on every update, chatter included.
    dispatcher = Dispatcher(disable_fsm=True)
    # Link-free group chatter is turned away at the door, before any router is
    # tried and before the services are handed over: it costs one async filter.
    dispatcher.message.filter(ForTheBot())
    tree = create_router()
    provide = HandOverServices(services)
    # At the tree's root, before its filters: an admins-only router's filter
    # reads the settings as its handlers do.
    for observer in (tree.message, tree.callback_query, tree.my_chat_member, tree.inline_query):
        observer.outer_middleware(provide)
    for kind, observer in (
        ("message", dispatcher.message),
        ("callback", dispatcher.callback_query),
        ("inline", dispatcher.inline_query),
    ):
        observer.middleware(UpdateOutcomes(services.metrics, kind))
        observer.middleware(i18n_middleware)
    dispatcher.update.outer_middleware(updates)
    dispatcher.errors.middleware(provide)
    dispatcher.include_router(tree)
    dispatcher.errors.register(on_error)
    return dispatcher


@dataclass
class App:
    """Everything the running bot is made of."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    store: Redis
    services: Services
    metrics: Metrics
    updates: UpdatesInFlight

    def begin_stop(self) -> float:
        """The process is stopping: no paste is charged whose cards could not be sent
        in time. How long to wait for the updates under way (the drain)."""
        seconds = drain_seconds(self.settings)
        self.services.card_service.stop_by(asyncio.get_running_loop().time() + seconds)
        log.info("stopping: draining updates in flight (%.0f s at most)", seconds)
        return seconds

    def web_app(self, webhook: WebhookIntake | None = None) -> web.Application:
        """Health, readiness and metrics (plus the webhook in webhook mode)."""
        ready = readiness(self.store, self.services.breaker.is_open)
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
    """Build the bot and its services; close them all on the way out, even
    when one of them fails to close (its error is raised once all are closed).

    ``bot_session`` and the transports let tests and benchmarks put the
    outside services' fakes at their HTTP boundary.
    """
    check_agent_referrals(settings)
    async with AsyncExitStack() as closing:
        # Closed in the reverse order, each even when one before it failed: the
        # look-ups stop first, then the pacer lets its waiters go, the clients
        # close, the cache finishes its writes, the counters are written after
        # all that counts, and the store goes last.
        store = open_store(settings.redis_url)
        closing.push_async_callback(store.aclose)
        counters = DailyCounters(store)
        closing.push_async_callback(counters.flush)
        cache = ItemCache(store, ttl_seconds=settings.cache_ttl_seconds)
        closing.push_async_callback(cache.aclose)
        metrics = Metrics()
        limits = telegram_limits(settings)
        bot = create_bot(settings, bot_session, limits)
        closing.push_async_callback(bot.session.close)
        catbuy = CatBuyClient(
            settings.catbuy_base_url,
            settings.catbuy_api_key,
            timeout=settings.catbuy_timeout_seconds,
            transport=catbuy_transport,
            on_call=upstream_recorder(metrics),
        )
        closing.push_async_callback(catbuy.aclose)
        # Photo URLs come from the upstream's payload: public addresses only, pinned.
        photo_hosts = PublicAddressTransport(
            resolve_host or system_addresses, network=images_transport
        )
        images = httpx.AsyncClient(timeout=IMAGE_TIMEOUT, transport=photo_hosts)
        closing.push_async_callback(images.aclose)
        resolver = ShortLinkResolver(
            store, transport=shortlinks_transport, resolve_host=resolve_host
        )
        closing.push_async_callback(resolver.aclose)
        breaker = Breaker(store, cooldown_seconds=settings.breaker_cooldown_seconds)
        pacer = Pacer(store, rps=settings.catbuy_rps, max_wait=settings.max_queue_wait_seconds)
        closing.push_async_callback(pacer.aclose)
        gate = UpstreamGate(pacer, breaker)
        ledger = QuotaLedger(
            store,
            user_quota=settings.user_daily_quota,
            chat_quota=settings.chat_daily_quota,
            daily_budget=settings.daily_budget_requests,
        )
        lookup = LookupService(
            catbuy, gate, ledger, cache, counters, timeout=settings.catbuy_timeout_seconds
        )
        closing.push_async_callback(lookup.aclose)
        cards = CardStore(store, ttl_seconds=settings.picker_ttl_seconds)
        rights = ChatRights()
        sender = CardSender(bot, PhotoDownloader(images), store, rights)
        prefs = LanguagePrefs(store)
        i18n = create_i18n()
        notifier = AdminNotifier(bot, settings, prefs, i18n)
        agent_prefs = AgentPrefs(store)
        card_service = CardService(
            bot, lookup, cards, sender, notifier, settings, metrics, rights, limits, agent_prefs
        )
        card_taps = CardTaps(
            cards, sender, i18n, settings.buy_url_template, buy=buy_options(settings)
        )
        inline_cards = InlineCards(bot, lookup, cards, sender, store, settings, agent_prefs)
        closing.push_async_callback(inline_cards.aclose)
        risk = RiskService(
            catbuy,
            gate,
            store,
            daily_budget=settings.risk_daily_budget,
            repeat_seconds=settings.risk_repeat_seconds,
            timeout_seconds=settings.catbuy_timeout_seconds,
            counters=counters,
        )
        services = Services(
            settings=settings,
            lookup=lookup,
            cards=cards,
            card_service=card_service,
            card_taps=card_taps,
            inline_cards=inline_cards,
            notifier=notifier,
            resolver=resolver,
            ledger=ledger,
            counters=counters,
            breaker=breaker,
            risk=risk,
            prefs=prefs,
            agent_prefs=agent_prefs,
            chat_rights=rights,
            metrics=metrics,
            i18n=i18n,
        )
        updates = UpdatesInFlight()
        dispatcher = create_dispatcher(UserLocale(i18n, prefs), services, updates)
        yield App(settings, bot, dispatcher, store, services, metrics, updates)


def check_agent_referrals(settings: Settings) -> None:
    """AGENT_REFERRALS names agents of the table (settings sit below it, so it is
    checked here, at start, before anything is built)."""
    unknown = sorted(slug for slug in settings.agent_referrals if by_slug(slug) is None)
    if unknown:
        raise ConfigError(f"AGENT_REFERRALS is invalid: unknown agent {unknown[0]!r}")
