"""One replica counting usage, as a separate process:
``python -m tests.usage_writer URL N START``.

From the wall-clock moment ``START`` on, counts ``N`` paid look-ups in group -100 and
``N`` cache hits, flushing now and then, so several processes write at the same moments.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bot.balance.daily_usage import Counter, DailyCounters
from bot.storage.store import open_store


async def main(url: str, n: int, start: float) -> None:
    store = open_store(url)
    counters = DailyCounters(store)
    await asyncio.sleep(max(0.0, start - time.time()))
    for i in range(n):
        counters.count(Counter.PAID_LOOKUPS, chat_id=-100)
        counters.count(Counter.CACHE_HITS)
        counters.note_group(-100, "Shoppers")
        if i % 25 == 0:
            await counters.flush()
        await asyncio.sleep(0.001)
    await counters.flush()
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
