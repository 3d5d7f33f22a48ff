"""What the /stats chart costs: its render time, and the stall other chats see meanwhile.

(a) ``render_chart`` alone on 30 days of data: wall and CPU time per render, and
    ``/stats`` end to end (history read, render, sendPhoto) through the Dispatcher.
(b) Updates flowing: cached links in private chats fed every 2 ms (each a card
    from the cache) while a 1 ms ticker measures how late the event loop wakes.
    Three phases of equal length: nothing else; admins asking ``/stats`` back to
    back (the render runs in a worker thread, as the bot does it); and, for
    contrast, the same renders called on the event loop. Target: a render well
    under a second, and no stall near a render's length while it runs.

Run: ``python -m bench.stats_chart [--renders 10] [--seconds 4] [--redis URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.card_latency import item_ids, upstream
from bot.app import App, build_app
from bot.balance.daily_usage import Counter, DailyCounters
from bot.config import load_settings
from bot.reports.dashboard_view import chart_days
from bot.reports.stats_chart import ChartLabels, render_chart
from bot.run import freeze_startup_heap
from tests.fakes.telegram import RecordingSession, message_update

ADMIN_ID = 7001
DAY = 86400
LABELS = ChartLabels(
    "Last 30 days (UTC)", "Paid look-ups", "Cache hits", "Refusals", "Spend", "Look-ups", "USD"
)


async def seed_history(app: App) -> None:
    """30 days of figures, as if the bot had run a month."""
    rng = random.Random(13)
    now = time.time()
    for days_ago in range(30):
        counters = DailyCounters(app.store, clock=lambda d=days_ago: now - d * DAY)
        counters.count(Counter.PAID_LOOKUPS, rng.randint(100, 300), chat_id=-100 - days_ago % 7)
        counters.count(Counter.CACHE_HITS, rng.randint(50, 400))
        counters.count(Counter.REFUSED_USER, rng.randint(0, 30))
        counters.count(Counter.RISK_CHECKS, rng.randint(0, 9))
        await counters.flush()


def link(item_id: str, user_id: int) -> dict[str, Any]:
    return message_update(
        f"https://item.taobao.com/item.htm?id={item_id}", user_id=user_id
    ).model_dump(mode="json", exclude_none=True)


def stats_update(user_id: int = ADMIN_ID) -> dict[str, Any]:
    return message_update("/stats", user_id=user_id).model_dump(mode="json", exclude_none=True)


async def phase(
    app: App, seconds: float, items: list[str], load: Callable[[], Awaitable[None]] | None
) -> tuple[list[float], list[float]]:
    """Loop lags and update latencies (ms) while ``load`` runs over and over."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    lags: list[float] = []
    latencies: list[float] = []

    async def ticker() -> None:
        while loop.time() < stop:
            started = loop.time()
            await asyncio.sleep(0.001)
            lags.append((loop.time() - started - 0.001) * 1000)

    async def flow() -> None:
        n = 0
        while loop.time() < stop:
            started = loop.time()
            await app.dispatcher.feed_raw_update(app.bot, link(items[n % len(items)], 500 + n))
            latencies.append((loop.time() - started) * 1000)
            n += 1
            await asyncio.sleep(0.002)

    async def loader() -> None:
        while load is not None and loop.time() < stop:
            await load()

    await asyncio.gather(ticker(), flow(), loader())
    return lags, latencies


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered):6.2f}  p99 {p99:6.2f}  max {ordered[-1]:6.2f} ms"
        f"  (n={len(ordered)})"
    )


async def main(renders: int, seconds: float, redis_url: str | None) -> None:
    settings = load_settings(
        bot_token="42:BENCH",
        catbuy_api_key="cbk_bench",
        redis_url=redis_url,
        admin_ids=str(ADMIN_ID),
        catbuy_rps=10000,
        user_daily_quota=10**6,
        telegram_send_interval=0,
        _env_file=None,
    )
    items = item_ids(5)
    session = RecordingSession()
    async with build_app(settings, bot_session=session, catbuy_transport=upstream(items)) as app:
        if redis_url:
            await app.store.flushall()
        await seed_history(app)
        for n, item in enumerate(items):  # into the cache: the flow below is free cards
            await app.dispatcher.feed_raw_update(app.bot, link(item, 400 + n))
        freeze_startup_heap()
        history = await app.services.counters.history(30)
        days = chart_days(history)

        # The first /stats imports matplotlib and reads the fonts, in the worker thread.
        first: list[float] = []

        async def first_stats() -> None:
            if not first:
                started = time.perf_counter()
                await app.dispatcher.feed_raw_update(app.bot, stats_update())
                first.append((time.perf_counter() - started) * 1000)
            else:
                await asyncio.sleep(0.01)

        cold = await phase(app, max(seconds, 3.0), items, first_stats)

        walls, cpus = [], []
        for _ in range(renders):
            wall, cpu = time.perf_counter(), time.process_time()
            png = render_chart(days, LABELS)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        ends = []
        for _ in range(renders):
            session.forget()
            started = time.perf_counter()
            await app.dispatcher.feed_raw_update(app.bot, stats_update())
            assert [c.method for c in session.sent] == ["sendPhoto"]
            ends.append((time.perf_counter() - started) * 1000)

        async def stats_in_thread() -> None:
            await app.dispatcher.feed_raw_update(app.bot, stats_update())

        async def render_on_loop() -> None:
            render_chart(days, LABELS)
            await asyncio.sleep(0.05)  # let the flow catch up between renders

        phases = {"first /stats of the process (imports matplotlib)": cold}
        for name, load in (
            ("no /stats", None),
            ("/stats back to back (worker thread)", stats_in_thread),
            ("renders on the event loop (contrast)", render_on_loop),
        ):
            session.forget()
            phases[name] = await phase(app, seconds, items, load)
            if load is stats_in_thread:
                charts = len(session.calls("sendPhoto")) - len(phases[name][1])
                name_with = f"{name}: {charts} charts"
                phases[name_with] = phases.pop(name)

    print(f"store: {'redis' if redis_url else 'in-process store'}; PNG {len(png):,} bytes")
    print(f"(a) the first /stats of the process, end to end: {first[0]:6.1f} ms")
    print(f"    render_chart, 30 days, {renders} renders")
    print(f"    wall median {statistics.median(walls):6.1f} ms  max {max(walls):6.1f} ms")
    print(f"    CPU  median {statistics.median(cpus):6.1f} ms  max {max(cpus):6.1f} ms")
    print(
        f"    /stats end to end (read, render, sendPhoto): median "
        f"{statistics.median(ends):6.1f} ms  max {max(ends):6.1f} ms   (target well under 1 s)"
    )
    print(f"(b) {seconds:.0f} s per phase; cached-link cards fed every 2 ms, 1 ms ticker")
    for name, (lags, latencies) in phases.items():
        print(f"    {name}")
        print(f"      loop lag        {summary(lags)}")
        print(f"      card latency    {summary(latencies)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: in-process store)")
    args = parser.parse_args()
    asyncio.run(main(args.renders, args.seconds, args.redis))
