"""The HTTP side of a replica: health, readiness, metrics and the webhook intake.

This module sits beside the composition root and speaks aiogram (it feeds
updates to the Dispatcher); the core never imports it.

The webhook intake is ours rather than aiogram's ``SimpleRequestHandler``:
that one neither dedupes redelivered updates across replicas nor drains
in-flight handlers on shutdown.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import ConfigError
from bot.ops.background import Background, until_done
from bot.ops.metrics import Metrics
from bot.telegram.patience import START_UP_PATIENCE, patiently
from bot.telegram.update_claims import UpdateClaims

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What the readiness probe writes (and lets expire at once).
READY_KEY = "cb:ready"
# A readiness probe must answer within the orchestrator's probe timeout.
PROBE_TIMEOUT = 1.0
# A claim the store did not confirm is given up for this long, in the background,
# and for this long more once the updates are drained at a stop.
GIVE_UP_SECONDS = 30.0
GIVE_UP_AT_STOP = 2.0


@dataclass(frozen=True, slots=True)
class ReadyState:
    """What ``/readyz`` reports: the shared store reachable, the upstream breaker."""

    redis: bool
    breaker: Literal["closed", "open"]

    @property
    def breaker_open(self) -> bool:
        """Paid calls are paused."""
        return self.breaker == "open"

    @property
    def ready(self) -> bool:
        # An open breaker is not "unready": the bot still answers every link
        # ("temporarily unavailable"); taking all replicas out of rotation
        # would leave users with silence instead.
        return self.redis


def readiness(
    store: Redis, breaker_open: Callable[[], Awaitable[bool]]
) -> Callable[[], Awaitable[ReadyState]]:
    """A ``ready`` callback for :func:`create_web_app`: write to the store, ask the breaker.

    A write, not a PING: a Redis full to ``maxmemory`` (``noeviction``, as the
    bot needs) still answers PING while it refuses every write, and with them
    every update. A breaker whose state cannot be read (Redis down) counts as
    open: paid calls fail closed then.
    """

    async def probe() -> ReadyState:
        try:
            write = store.set(READY_KEY, b"1", px=int(PROBE_TIMEOUT * 1000))
            redis_ok = bool(await asyncio.wait_for(write, PROBE_TIMEOUT))
        except (RedisError, OSError, TimeoutError):
            redis_ok = False
        try:
            is_open = await asyncio.wait_for(breaker_open(), PROBE_TIMEOUT)
        except (RedisError, OSError, TimeoutError):
            is_open = True
        return ReadyState(redis=redis_ok, breaker="open" if is_open else "closed")

    return probe


class WebhookIntake:
    """Takes Telegram's webhook POSTs: secret check, cross-replica dedupe, background handling.

    Each ``update_id`` is claimed in the store (``bot.telegram.update_claims``) before
    anything is processed, so a redelivery to any replica is acknowledged and
    dropped. A claim the store does not confirm is answered 503 once it is
    given up (``release_wait`` at most), so Telegram's redelivery finds the
    update free. The update is acknowledged at once and handled in a tracked
    task, ``max_in_flight`` at most (503 past it); :meth:`drain` stops intake
    and waits for those tasks on shutdown.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        store: Redis,
        *,
        path: str,
        secret: str,
        dedupe_ttl: int = 3600,
        drain_timeout: float = 20.0,
        release_wait: float = 3.0,
        max_in_flight: int = 500,
        handler_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._claims = UpdateClaims(store, bot_id=bot.id, ttl=dedupe_ttl)
        self.path = path
        if not secret:
            # Anyone who found the URL could post forged updates: made-up admin
            # ids, made-up users to get round every quota.
            raise ValueError("the webhook needs a secret token")
        self._secret = secret.encode()
        self._drain_timeout = drain_timeout
        self._release_wait = release_wait
        self._max_in_flight = max_in_flight
        self._handler_kwargs = handler_kwargs or {}
        self._updates = Background()
        self._giving_up = Background()
        # Requests past the draining check that have not yet spawned their task.
        self._admitting = 0
        self.draining = False

    @property
    def in_flight(self) -> int:
        """Updates accepted and still being handled."""
        return len(self._updates) + self._admitting

    def register(self, app: web.Application) -> None:
        """Serve the webhook on ``app`` and drain it when ``app`` shuts down."""
        app.router.add_post(self.path, self.handle)
        app.on_shutdown.append(self._on_shutdown)

    async def handle(self, request: web.Request) -> web.Response:
        """One webhook POST from Telegram."""
        if self.draining:
            # Telegram redelivers on non-2xx: another replica takes it.
            return web.Response(status=503, text="draining")
        if not self._authentic(request):
            return web.Response(status=403, text="forbidden")
        if self.in_flight >= self._max_in_flight:
            # Telegram delivers it again later; meanwhile no task, no connection piles up.
            return web.Response(status=503, text="busy")
        self._admitting += 1
        try:
            return await self._admit(request)
        finally:
            self._admitting -= 1

    def _authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self._secret)

    async def _admit(self, request: web.Request) -> web.Response:
        # Past aiohttp's body limit (1 MB) reading raises a 413 response on its own.
        body = await request.read()
        try:
            update = Update.model_validate(json.loads(body), context={"bot": self._bot})
        except (ValueError, ValidationError, RecursionError):
            # RecursionError: a body nested thousands of levels deep. Not JSON,
            # not UTF-8, not an object: none of it is Telegram's, nothing to log.
            return web.Response(status=400, text="bad update")
        update_id, token = update.update_id, secrets.token_hex(8)
        try:
            claimed = await self._claims.claim(update_id, token)
        except (RedisError, OSError, TimeoutError):
            log.warning("store unreachable, update %s left for redelivery", update_id)
            # Telegram redelivers once answered: the claim, if it ran, must be gone by then.
            release = self._giving_up.spawn(self._give_up(update_id, token), f"give-up-{update_id}")
            await asyncio.wait({release}, timeout=self._release_wait)
            return web.Response(status=503, text="store unavailable")
        if not claimed:
            log.info("duplicate update %s dropped", update_id)
            return web.Response(status=200)
        self._updates.spawn(self._process(update), f"update-{update_id}")
        return web.Response(status=200)

    async def _give_up(self, update_id: int, token: str) -> None:
        """Release the claim, trying again while the store is unreachable."""
        released = await until_done(
            lambda: self._claims.release(update_id, token),
            within=GIVE_UP_SECONDS,
            retry_on=(RedisError, OSError, TimeoutError),
        )
        if not released:
            log.warning("update %s: claim not given up, its redelivery is lost", update_id)

    async def _process(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update, **self._handler_kwargs)
        except Exception:
            log.exception("update %s failed", update.update_id)

    async def drain(self) -> None:
        """Refuse new updates, then wait (bounded) for the accepted ones to finish."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_timeout
        while self.in_flight and (remaining := deadline - loop.time()) > 0:
            if self._updates:
                await self._updates.wait(remaining)
            else:
                await asyncio.sleep(0.01)  # a request is between its claim and its task
        if self._updates:
            log.warning("drain timed out, cancelling %d update(s)", len(self._updates))
            await self._updates.cancel()
        if self._giving_up:  # a store still unreachable: no use waiting the drain out
            await self._giving_up.wait(GIVE_UP_AT_STOP)
            if self._giving_up:
                log.warning("stopping with %d claim(s) not given up", len(self._giving_up))
                await self._giving_up.cancel()

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.drain()


def create_web_app(
    *,
    metrics: Metrics,
    ready: Callable[[], Awaitable[ReadyState]],
    webhook: WebhookIntake | None = None,
) -> web.Application:
    """``/healthz``, ``/readyz``, ``/metrics``, and the webhook path when given."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_request: web.Request) -> web.Response:
        state = await ready()
        body: dict[str, Any] = {"redis": state.redis, "breaker": state.breaker}
        draining = webhook is not None and webhook.draining
        if draining:
            body["draining"] = True
        status = 200 if state.ready and not draining else 503
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def metrics_page(_request: web.Request) -> web.Response:
        # Gauges of outside state are refreshed at scrape time so /metrics
        # shows a Redis outage or an open breaker even when nobody else did.
        state = await ready()
        metrics.redis_up.set(1 if state.redis else 0)
        metrics.breaker_open.set(1 if state.breaker_open else 0)
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    if webhook is not None:
        webhook.register(app)
    return app


async def run_web_server(
    app: web.Application, host: str, port: int, *, port_setting: str = "WEB_SERVER_PORT"
) -> web.AppRunner:
    """Start serving ``app``; stop it with ``await runner.cleanup()``.

    A host or port it cannot listen on is a ``ConfigError`` naming the settings.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"WEB_SERVER_HOST/{port_setting}: cannot listen on {host}:{port} ({reason})"
        ) from None
    return runner


async def set_webhook(
    bot: Bot,
    dispatcher: Dispatcher,
    *,
    url: str,
    secret: str,
    patience: float = START_UP_PATIENCE,
) -> None:
    """Register ``url`` with Telegram for the update types the routers use, asking
    again for ``patience`` seconds while Telegram does not answer (or answers an
    error page)."""
    allowed = dispatcher.resolve_used_update_types()
    await patiently(
        lambda: bot.set_webhook(
            url, secret_token=secret, allowed_updates=allowed, drop_pending_updates=False
        ),
        what="setWebhook",
        patience=patience,
    )
