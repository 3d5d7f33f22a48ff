"""Benchmark: how well the look-up service guards the balance under a realistic load.

1,000 pasted links over 150 distinct items (Zipf-like popularity) from 40
users in 5 groups, arriving over two and a half minutes, against the fake
upstream at 2 RPS with 300 ms latency and a real redis-server. One user floods
(bursts of 30 links) while ten others paste one fresh link each during the
flood. The same load runs again with the cache and coalescing off.

Prints upstream calls (the floor is the number of distinct items), 429s,
upstream utilisation while requests were queued, time-to-card for the
single-link users, and the comparison as ratios.

Ten single-link users make a coarse p95 (nearly the slowest of them), so
``--seeds N`` runs the guarded load N times with other arrivals and pools
their waits (~2.5 min a seed).

    python -m bench.balance [--quick] [--seeds N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.balance.breaker import Breaker  # noqa: E402
from bot.balance.daily_usage import DailyCounters  # noqa: E402
from bot.balance.ledger import QuotaLedger  # noqa: E402
from bot.balance.pacing import Pacer  # noqa: E402
from bot.balance.upstream_gate import UpstreamGate  # noqa: E402
from bot.catbuy.client import CatBuyClient  # noqa: E402
from bot.items.item import ItemRef, Platform  # noqa: E402
from bot.lookup.item_cache import ItemCache  # noqa: E402
from bot.lookup.results import Found  # noqa: E402
from bot.lookup.service import LookupService  # noqa: E402
from bot.storage.store import open_store  # noqa: E402
from tests.conftest import FIXTURES  # noqa: E402
from tests.fakes.catbuy_server import FakeCatBuy  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402

KEY = "cbk_bench_key"
RPS = 2.0
LATENCY = 0.3
TIMEOUT = 15.0
FIRST_ID = 610_000_000_000


@dataclass(frozen=True)
class Shape:
    links: int
    items: int
    users: int
    groups: int
    seconds: float
    bursts: int
    burst_size: int
    singles: int


FULL = Shape(1000, 150, 40, 5, 150.0, 3, 30, 10)
QUICK = Shape(300, 50, 40, 5, 45.0, 1, 30, 10)


@dataclass(frozen=True)
class Paste:
    at: float
    user_id: int
    chat_id: int | None
    item_id: str
    single: bool = False


@dataclass
class RunResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    single_latencies: list[float] = field(default_factory=list)
    calls: int = 0
    rejected_429: int = 0
    busiest_second: int = 0
    backlog_seconds: float = 0.0
    calls_in_backlog: int = 0
    wall: float = 0.0


def workload(shape: Shape, seed: int = 4) -> list[Paste]:
    """Pastes in arrival order: Zipf-like background, a flooder, and single-link users."""
    rng = random.Random(seed)
    singles_items = [str(FIRST_ID + i) for i in range(shape.singles)]
    popular = [str(FIRST_ID + shape.singles + i) for i in range(shape.items - shape.singles)]
    weights = [1 / (rank + 1) for rank in range(len(popular))]
    flooder = 0
    singles_users = list(range(1, shape.singles + 1))
    others = list(range(shape.singles + 1, shape.users))

    def chat_of(user: int) -> int | None:
        return None if user % 3 == 0 else -(1000 + user % shape.groups)

    pastes: list[Paste] = []
    burst_times = [shape.seconds * (k + 1) / (shape.bursts + 1) for k in range(shape.bursts)]
    for at in burst_times:
        for item in rng.choices(popular, weights, k=shape.burst_size):
            pastes.append(Paste(at, flooder, chat_of(flooder), item))
    flood_start, flood_end = burst_times[0], burst_times[-1] + 10
    for user, item in zip(singles_users, singles_items, strict=True):
        at = rng.uniform(flood_start + 0.5, flood_end)
        pastes.append(Paste(at, user, chat_of(user), item, single=True))
    background = shape.links - len(pastes)
    # Every distinct item appears at least once, so the floor is exactly `items`.
    items = popular + rng.choices(popular, weights, k=background - len(popular))
    rng.shuffle(items)
    for item in items:
        user = rng.choice(others)
        pastes.append(Paste(rng.uniform(0, shape.seconds), user, chat_of(user), item))
    return sorted(pastes, key=lambda p: p.at)


async def run(shape: Shape, redis_url: str, *, share: bool, seed: int = 4) -> RunResult:
    result = RunResult()
    async with FakeCatBuy(KEY, rps=RPS, latency=LATENCY) as fake:
        base: dict[str, Any] = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
        for i in range(shape.items):
            body = copy.deepcopy(base)
            body["data"]["num_iid"] = str(FIRST_ID + i)
            fake.add_item(str(FIRST_ID + i), body)
        store = open_store(redis_url)
        await store.flushall()
        client = CatBuyClient(fake.base_url, SecretStr(KEY), timeout=TIMEOUT)
        pacer = Pacer(store, rps=RPS, max_wait=20)
        cache = ItemCache(store, ttl_seconds=3600)
        service = LookupService(
            client,
            UpstreamGate(pacer, Breaker(store, cooldown_seconds=300)),
            QuotaLedger(store, user_quota=1000, chat_quota=1000, daily_budget=100_000),
            cache,
            DailyCounters(store),
            timeout=TIMEOUT,
            share=share,
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        backlog: list[tuple[float, float]] = []

        async def watch() -> None:
            while True:
                t = loop.time()
                await asyncio.sleep(0.05)
                if pacer.waiting:
                    backlog.append((t, loop.time()))

        async def paste(p: Paste) -> None:
            await asyncio.sleep(max(0.0, started + p.at - loop.time()))
            t0 = loop.time()
            ref = ItemRef(platform=Platform.TAOBAO, item_id=p.item_id)
            outcome = await service.lookup(
                ref, user_id=p.user_id, chat_id=p.chat_id, lang="en", is_admin=False
            )
            result.outcomes[outcome.outcome] += 1
            if p.single and isinstance(outcome, Found):
                result.single_latencies.append(loop.time() - t0)
            elif p.single:
                result.single_latencies.append(float("inf"))

        watcher = asyncio.create_task(watch())
        wall0 = time.monotonic()
        await asyncio.gather(*(paste(p) for p in workload(shape, seed)))
        result.wall = time.monotonic() - wall0
        watcher.cancel()
        await pacer.aclose()
        await cache.aclose()
        await client.aclose()
        await store.aclose()
        result.calls = fake.calls
        result.rejected_429 = fake.rejected_429
        result.busiest_second = fake.max_in_any_second
        arrivals = [r.monotonic for r in fake.requests]
        spans = sustained(backlog, at_least=3.0)
        result.backlog_seconds = sum(b - a for a, b in spans)
        result.calls_in_backlog = sum(any(a <= t < b for a, b in spans) for t in arrivals)
    return result


def sustained(samples: list[tuple[float, float]], at_least: float) -> list[tuple[float, float]]:
    """Merge back-to-back queued samples into spans; keep those lasting ``at_least`` seconds.

    Short blips (one request waiting for its slot) say nothing about utilisation.
    """
    spans: list[tuple[float, float]] = []
    for start, end in samples:
        if spans and start - spans[-1][1] < 0.01:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [(a, b) for a, b in spans if b - a >= at_least]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, shape: Shape, r: RunResult) -> None:
    found = r.outcomes.get("found", 0)
    utilisation = r.calls_in_backlog / (r.backlog_seconds * RPS) if r.backlog_seconds else 0.0
    print(f"== {name} ==")
    print(f"  links pasted           {shape.links} over {shape.items} distinct items")
    print(f"  outcomes               {dict(sorted(r.outcomes.items()))}")
    print(f"  upstream calls         {r.calls} (floor {shape.items})")
    print(f"  429s                   {r.rejected_429}  busiest 1s window {r.busiest_second}")
    print(
        f"  utilisation in backlog {utilisation:.1%} of {RPS:g} RPS "
        f"({r.calls_in_backlog} calls in {r.backlog_seconds:.1f}s of queues lasting 3s+)"
    )
    if r.single_latencies:
        p50, p95 = percentile(r.single_latencies, 0.5), percentile(r.single_latencies, 0.95)
        n = len(r.single_latencies)
        print(f"  single-link users      p50 {p50:.2f}s  p95 {p95:.2f}s  (n={n})")
    print(f"  cards per upstream call {found / r.calls if r.calls else 0:.2f}  wall {r.wall:.0f}s")


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller load (~2 min)")
    parser.add_argument("--seeds", type=int, default=1, help="guarded runs to pool (default 1)")
    args = parser.parse_args(argv)
    shape = QUICK if args.quick else FULL
    with running_redis() as server:
        guarded = await run(shape, server.url, share=True)
        report("cache + coalescing on", shape, guarded)
        waits = list(guarded.single_latencies)
        for seed in range(5, 4 + args.seeds):
            again = await run(shape, server.url, share=True, seed=seed)
            report(f"cache + coalescing on, seed {seed}", shape, again)
            waits += again.single_latencies
        if args.seeds > 1:
            p50, p95 = percentile(waits, 0.5), percentile(waits, 0.95)
            print(f"== single-link users over {args.seeds} seeds ==")
            print(f"  p50 {p50:.2f}s  p95 {p95:.2f}s  (n={len(waits)})")
        bare = await run(shape, server.url, share=False)
        report("cache + coalescing off", shape, bare)
    on_found, off_found = guarded.outcomes.get("found", 0), bare.outcomes.get("found", 0)
    print("== comparison (on / off) ==")
    print(f"  upstream calls         {guarded.calls} / {bare.calls}")
    print(
        f"  cards delivered        {on_found} / {off_found}  ({on_found / max(off_found, 1):.1f}x)"
    )
    on_cost = guarded.calls / max(on_found, 1)
    off_cost = bare.calls / max(off_found, 1)
    print(f"  calls per card         {on_cost:.3f} / {off_cost:.3f}  ({off_cost / on_cost:.1f}x)")


if __name__ == "__main__":
    asyncio.run(main())
