"""Metrics: each instance has its own registry and renders the exposition format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.ops.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_render_shows_what_was_counted() -> None:
    metrics = Metrics()
    metrics.updates_handled.labels(kind="link", outcome="card").inc()
    metrics.updates_handled.labels(kind="link", outcome="card").inc()
    metrics.upstream_calls.labels(endpoint="item", outcome="ok").inc()
    metrics.upstream_latency.labels(endpoint="item").observe(0.3)
    metrics.cache_hits.inc(3)
    metrics.coalesced.inc()
    metrics.quota_refusals.labels(kind="user").inc()
    metrics.breaker_open.set(1)
    metrics.spend_usd.labels(endpoint="item").inc(0.004)

    samples = _samples(metrics)
    link_card = frozenset({("kind", "link"), ("outcome", "card")})
    assert samples[("catbuy_updates_handled_total", link_card)] == 2
    item_ok = frozenset({("endpoint", "item"), ("outcome", "ok")})
    assert samples[("catbuy_upstream_calls_total", item_ok)] == 1
    item = frozenset({("endpoint", "item")})
    assert samples[("catbuy_upstream_latency_seconds_count", item)] == 1
    assert samples[("catbuy_upstream_latency_seconds_bucket", item | {("le", "0.5")})] == 1
    assert samples[("catbuy_upstream_latency_seconds_bucket", item | {("le", "0.25")})] == 0
    assert samples[("catbuy_cache_hits_total", frozenset())] == 3
    assert samples[("catbuy_coalesced_total", frozenset())] == 1
    assert samples[("catbuy_quota_refusals_total", frozenset({("kind", "user")}))] == 1
    assert samples[("catbuy_breaker_open", frozenset())] == 1
    assert samples[("catbuy_spend_usd_total", item)] == 0.004


def test_instances_do_not_share_counters() -> None:
    first, second = Metrics(), Metrics()
    first.cache_hits.inc()
    assert _samples(first)[("catbuy_cache_hits_total", frozenset())] == 1
    assert _samples(second)[("catbuy_cache_hits_total", frozenset())] == 0


def test_content_type_is_prometheus_text() -> None:
    assert Metrics().content_type.startswith("text/plain")
