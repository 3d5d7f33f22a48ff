"""Inline mode against the chat card: time from the update to Telegram's request.

For cached items (each looked up once by a paste first), the time from
``feed_raw_update`` of an inline query ``@bot <link>`` to the bot's
``answerInlineQuery``, beside the time from a pasted link to the card's
``sendPhoto``. Both run through the whole bot; the upstream is faked
in-process and Telegram is a recording session.

Run: ``python -m bench.inline_latency [--items 300] [--redis URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench.card_latency import _median_p95, bench_settings, item_ids, link_updates, upstream
from bot.app import build_app
from bot.run import freeze_startup_heap
from tests.fakes.telegram import RecordingSession

ROUNDS = 3


def inline_updates(session: RecordingSession, ids: list[str]) -> list[dict[str, Any]]:
    telegram = session.telegram
    updates = []
    for i, item_id in enumerate(ids):
        update = telegram.inline.query(
            f"https://item.taobao.com/item.htm?id={item_id}", user_id=100 + i % 40
        )
        updates.append(update.model_dump(mode="json", exclude_none=True))
    return updates


async def _latency(
    app: Any, session: RecordingSession, update: dict[str, Any], method: str
) -> float:
    session.forget()
    started = time.monotonic()
    await app.dispatcher.feed_raw_update(app.bot, update)
    [call] = [c for c in session.sent if c.method == method]
    assert call.ok, call.response
    return (call.time - started) * 1000


async def main(items: int, redis_url: str | None) -> None:
    settings = bench_settings(redis_url)
    ids = item_ids(items)
    session = RecordingSession()
    async with build_app(settings, bot_session=session, catbuy_transport=upstream(ids)) as app:
        if redis_url:
            await app.store.flushall()
        freeze_startup_heap()
        pastes = link_updates(items)
        for update in pastes:  # fill the cache
            await _latency(app, session, update, "sendPhoto")
        chat: list[float] = []
        inline: list[float] = []
        for _ in range(ROUNDS):
            queries = inline_updates(session, ids)
            for paste, query in zip(pastes, queries, strict=True):
                chat.append(await _latency(app, session, paste, "sendPhoto"))
                inline.append(await _latency(app, session, query, "answerInlineQuery"))
    print(
        f"store: {'redis' if redis_url else 'in-process store'};"
        f" {items} cached items, {ROUNDS} rounds"
    )
    for name, figures in (
        ("chat card (paste -> sendPhoto)", chat),
        ("inline (query -> answer)", inline),
    ):
        median, p95 = _median_p95(figures)
        print(f"    {name:34} median {median:5.2f} ms  p95 {p95:5.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: in-process store)")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.redis))
