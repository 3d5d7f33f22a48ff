"""Three OS processes sharing one Redis behave as one bot: quota, coalescing, rate.

Each worker is ``python -c WORKER`` building its own ``LookupService`` against
the shared redis-server and the fake upstream served by this test process.
Workers start their look-ups together at an agreed wall-clock instant.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.fakes.catbuy_server import FakeCatBuy
from tests.redis_server import RedisServer
from tests.test_lookup import register_items

KEY = "cbk_replica_test"
ROOT = Path(__file__).resolve().parent.parent
REPLICAS = 3

WORKER = r"""
import asyncio, json, sys, time
from pydantic import SecretStr
from bot.storage.store import open_store
from bot.balance.breaker import Breaker
from bot.catbuy.client import CatBuyClient
from bot.balance.upstream_gate import UpstreamGate
from bot.items.item import ItemRef, Platform
from bot.lookup.item_cache import ItemCache
from bot.balance.ledger import QuotaLedger
from bot.lookup.service import LookupService
from bot.balance.pacing import Pacer
from bot.balance.daily_usage import DailyCounters

async def main(cfg):
    store = open_store(cfg["redis"])
    client = CatBuyClient(cfg["base"], SecretStr(cfg["key"]), timeout=cfg["timeout"])
    pacer = Pacer(store, rps=cfg["rps"], max_wait=cfg["timeout"])
    gate = UpstreamGate(pacer, Breaker(store, cooldown_seconds=60))
    ledger = QuotaLedger(store, user_quota=cfg["user_quota"], chat_quota=1000,
                         daily_budget=1000)
    cache = ItemCache(store, ttl_seconds=3600)
    service = LookupService(client, gate, ledger, cache, DailyCounters(store),
                            timeout=cfg["timeout"])
    await store.ping()  # connect before the start line
    await asyncio.sleep(max(0.0, cfg["start_at"] - time.time()))
    results = await asyncio.gather(*(
        service.lookup(ItemRef(platform=Platform.TAOBAO, item_id=item), user_id=user,
                       chat_id=None, lang="en", is_admin=False)
        for user, item in cfg["asks"]))
    await pacer.aclose()
    await cache.aclose()
    await client.aclose()
    await store.aclose()
    print(json.dumps([r.outcome for r in results]))

asyncio.run(main(json.loads(sys.argv[1])))
"""


async def run_replicas(
    redis_url: str, fake: FakeCatBuy, asks: list[list[tuple[int, str]]], **settings: Any
) -> Counter[str]:
    """Run one worker per list of (user, item id) look-ups; the outcomes of all of them."""
    start_at = time.time() + 3.0
    procs = []
    for worker_asks in asks:
        cfg = {
            "redis": redis_url,
            "base": fake.base_url,
            "key": KEY,
            "start_at": start_at,
            "asks": worker_asks,
            "rps": 40,
            "timeout": 10.0,
            "user_quota": 1000,
            **settings,
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WORKER,
                json.dumps(cfg),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    outcomes: Counter[str] = Counter()
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()[-2000:]
        outcomes.update(json.loads(out.decode().strip().splitlines()[-1]))
    return outcomes


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=50) as upstream:
        yield upstream


async def test_a_quota_holds_across_replicas(
    redis: Redis, redis_server: RedisServer, fake: FakeCatBuy
) -> None:
    refs = register_items(fake, range(800_000_000_000, 800_000_000_000 + 34 * REPLICAS))
    asks = [[(1, ref.item_id) for ref in refs[i::REPLICAS]] for i in range(REPLICAS)]
    outcomes = await run_replicas(redis_server.url, fake, asks, user_quota=10)
    assert fake.calls == 10
    assert outcomes == {"found": 10, "user_quota": 34 * REPLICAS - 10}


async def test_one_item_is_fetched_once_across_replicas(
    redis: Redis, redis_server: RedisServer, fake: FakeCatBuy
) -> None:
    asks = [[(w * 100 + u, "734912856301") for u in range(17)] for w in range(REPLICAS)]
    outcomes = await run_replicas(redis_server.url, fake, asks)
    assert fake.calls == 1
    assert outcomes == {"found": 17 * REPLICAS}


async def test_replicas_together_stay_under_the_upstream_rate(
    redis: Redis, redis_server: RedisServer
) -> None:
    async with FakeCatBuy(KEY, rps=2) as strict:
        refs = register_items(strict, range(900_000_000_000, 900_000_000_000 + 4 * REPLICAS))
        asks = [
            [(w * 10 + n, ref.item_id) for n, ref in enumerate(refs[w::REPLICAS])]
            for w in range(REPLICAS)
        ]
        outcomes = await run_replicas(redis_server.url, strict, asks, rps=2, timeout=30.0)
        assert outcomes == {"found": 4 * REPLICAS}
        assert strict.calls == 4 * REPLICAS
        assert strict.rejected_429 == 0
        assert strict.max_in_any_second <= 2
