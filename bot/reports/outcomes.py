"""What the bot tells its operator: metrics and one structured log line per
update outcome and per upstream call."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.balance.daily_usage import LOOKUP_PRICE, RISK_CHECK_PRICE
from bot.catbuy.client import CallObserver
from bot.lookup.results import Failure, Found, LookupResult
from bot.ops.logs import log_outcome
from bot.ops.metrics import Metrics
from bot.risk.service import OutcomeKind, RiskOutcome

log = logging.getLogger("bot.outcomes")

_PRICES = {"/item": LOOKUP_PRICE, "/blacklist/check": RISK_CHECK_PRICE}
_REFUSALS = {
    Failure.USER_QUOTA: "user",
    Failure.CHAT_QUOTA: "chat",
    Failure.BUDGET: "budget",
}


def upstream_recorder(metrics: Metrics) -> CallObserver:
    """Counts, times and logs every upstream call; a served call is spend."""

    def record(endpoint: str, outcome: str, seconds: float) -> None:
        metrics.upstream_calls.labels(endpoint, outcome).inc()
        metrics.upstream_latency.labels(endpoint).observe(seconds)
        if outcome == "ok":
            metrics.spend_usd.labels(endpoint).inc(float(_PRICES.get(endpoint, Decimal(0))))
        log_outcome(
            log, "upstream", endpoint=endpoint, outcome=outcome, latency_ms=round(seconds * 1e3)
        )

    return record


def record_lookup(metrics: Metrics, result: LookupResult, **fields: Any) -> None:
    """Metrics and the log line of one look-up (platform, item id, outcome, cached)."""
    cached = isinstance(result, Found) and result.cached
    if cached:
        metrics.cache_hits.inc()
    if isinstance(result, Found) and result.coalesced:
        metrics.coalesced.inc()
    if not isinstance(result, Found) and result.kind in _REFUSALS:
        metrics.quota_refusals.labels(_REFUSALS[result.kind]).inc()
    log_outcome(log, "lookup", outcome=result.outcome, cached=cached, **fields)


def record_risk_check(metrics: Metrics, outcome: RiskOutcome) -> None:
    """Metrics of one risk check: a check the risk budget refused."""
    if outcome.kind is OutcomeKind.BUDGET_EXHAUSTED:
        metrics.quota_refusals.labels("risk_budget").inc()


class UpdateOutcomes(BaseMiddleware):
    """Inner middleware: counts and logs every update a handler took.

    Inner, so link-free chatter that no handler takes costs nothing here.
    """

    def __init__(self, metrics: Metrics, kind: str) -> None:
        self._metrics = metrics
        self._kind = kind

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.monotonic()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        finally:
            self._metrics.updates_handled.labels(self._kind, outcome).inc()
            update = data.get("event_update")
            log_outcome(
                log,
                "update",
                kind=self._kind,
                outcome=outcome,
                update_id=update.update_id if isinstance(update, Update) else None,
                latency_ms=round((time.monotonic() - started) * 1e3, 1),
            )
