"""Prometheus metrics of one bot process, in a registry of its own.

Each ``Metrics`` owns its ``CollectorRegistry``: no process-wide default
registry, so tests and several bots in one process never share counters.
Services receive the ``Metrics`` object and bump what they observe.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

NAMESPACE = "catbuy"

# An upstream look-up is bounded by CATBUY_TIMEOUT_SECONDS (15 s by default);
# the buckets cover a fast cache-miss to a timed-out call.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 15.0, 20.0, 30.0)


class Metrics:
    """The bot's counters, histogram and gauges.

    Labels:
    - ``updates_handled_total{kind, outcome}``: kind is e.g. ``link``,
      ``callback``, ``command``; outcome e.g. ``card``, ``cached``, ``quota``,
      ``not_found``, ``error``.
    - ``upstream_calls_total{endpoint, outcome}`` and
      ``upstream_latency_seconds{endpoint}``: endpoint ``item`` or ``risk``;
      outcome ``ok``, ``not_found``, ``429``, ``5xx``, ``timeout``, ...
    - ``quota_refusals_total{kind}``: ``user``, ``chat``, ``budget``, ``risk_budget``,
      ``group_flood`` and ``chat_flood`` (a group, a private chat past Telegram's
      rate: its paste not looked up), ``stopping`` (a paste whose cards could not
      be sent before the process stops).
    - ``spend_usd_total{endpoint}``: the estimated spend of paid calls.
    - ``breaker_open`` and ``redis_up``: 1 or 0, refreshed at each scrape.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates_handled = Counter(
            "updates_handled",
            "Updates handled",
            ["kind", "outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.upstream_calls = Counter(
            "upstream_calls",
            "Calls to the CatBuy API",
            ["endpoint", "outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "upstream_latency_seconds",
            "Latency of calls to the CatBuy API",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            namespace=NAMESPACE,
            registry=r,
        )
        self.cache_hits = Counter(
            "cache_hits", "Look-ups served from cache", namespace=NAMESPACE, registry=r
        )
        self.coalesced = Counter(
            "coalesced",
            "Look-ups that joined an identical one in flight",
            namespace=NAMESPACE,
            registry=r,
        )
        self.quota_refusals = Counter(
            "quota_refusals",
            "Look-ups refused by a quota or budget",
            ["kind"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.breaker_open = Gauge(
            "breaker_open",
            "1 while paid calls are paused after a 402/401",
            namespace=NAMESPACE,
            registry=r,
        )
        self.redis_up = Gauge(
            "redis_up", "1 when the shared store answers", namespace=NAMESPACE, registry=r
        )
        self.spend_usd = Counter(
            "spend_usd",
            "Estimated spend on paid calls, in USD",
            ["endpoint"],
            namespace=NAMESPACE,
            registry=r,
        )

    def render(self) -> bytes:
        """All metrics in the Prometheus text exposition format."""
        return generate_latest(self.registry)

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` of :meth:`render`'s output."""
        return CONTENT_TYPE_LATEST
