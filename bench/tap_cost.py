"""What one tap on a card costs the event loop, by the item's size.

Serial taps through the whole bot (Dispatcher, card state in the store, the
redraw), Telegram a recording session, the upstream answering in-process: the
time of each update is the loop's own work plus the store's round trips. A
big item (``--colours 40 --sizes 50``: 2,000 SKUs) shows what keeping items
decoded and their pickers built saves.

Run: ``python -m bench.tap_cost [--colours 40] [--sizes 50] [--taps 60] [--redis URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import httpx

from bot.app import build_app
from bot.config import load_settings
from bot.run import freeze_startup_heap
from tests.fakes.telegram import RecordingSession, message_update

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/catbuy/taobao_two_dims.json"
GROUP = -1001


def answer(colours: int, sizes: int) -> bytes:
    """The fixture, or a grid of ``colours`` x ``sizes`` SKUs in its place."""
    body = json.loads(FIXTURE.read_text())
    data = body["data"]
    if colours and sizes:
        data["props_list"] = {
            **{f"1:{c}": f"颜色分类:颜色{c}号 加绒加厚款" for c in range(colours)},
            **{f"2:{s}": f"尺码:{150 + s}cm" for s in range(sizes)},
        }
        data["props_img"] = {
            f"1:{c}": f"//img.alicdn.com/imgextra/i1/1/O1CN01C{c:05}_!!1.jpg"
            for c in range(colours)
        }
        data["skus"] = {
            "sku": [
                {
                    "sku_id": f"51200{c:03}{s:03}",
                    "properties": f"1:{c};2:{s}",
                    "price": f"{89 + s}.00",
                    "quantity": str((c * s) % 7),
                }
                for c in range(colours)
                for s in range(sizes)
            ]
        }
    return json.dumps(body, ensure_ascii=False).encode()


async def main(colours: int, sizes: int, taps: int, redis_url: str | None) -> None:
    body = answer(colours, sizes)
    settings = load_settings(
        bot_token="42:BENCH",
        catbuy_api_key="cbk_bench",
        redis_url=redis_url,
        telegram_send_interval=0,
        _env_file=None,
    )
    session = RecordingSession()
    upstream = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with build_app(settings, bot_session=session, catbuy_transport=upstream) as app:
        if redis_url:
            await app.store.flushall()
        freeze_startup_heap()  # as bot.run.run does
        link = "https://item.taobao.com/item.htm?id=800000000001"
        await app.dispatcher.feed_update(
            app.bot, message_update(link, chat_id=GROUP, chat_type="supergroup")
        )
        [card] = [c for c in session.sent if c.method == "sendPhoto" and c.ok]
        message_id = card.response["result"]["message_id"]
        markup = card.reply_markup or {}
        buttons = [
            button["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if button.get("callback_data", "c:x:n").split(":")[2] in ("o", "g")
        ]
        times = []
        for n in range(taps):
            tap = session.telegram.tap(GROUP, message_id, buttons[n % len(buttons)], user_id=1001)
            started = time.perf_counter()
            await app.dispatcher.feed_update(app.bot, tap)
            times.append((time.perf_counter() - started) * 1000)
        edits = sum(1 for c in session.sent if c.method.startswith("edit") and c.ok)
    times.sort()
    skus = colours * sizes if colours and sizes else "the fixture's"
    print(f"store: {'redis' if redis_url else 'in-process store'}; item of {skus} SKUs")
    print(
        f"{taps} taps, {edits} edits: per tap median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(len(times) * 0.9)]:.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--colours", type=int, default=0)
    parser.add_argument("--sizes", type=int, default=0)
    parser.add_argument("--taps", type=int, default=60)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: in-process store)")
    args = parser.parse_args()
    asyncio.run(main(args.colours, args.sizes, args.taps, args.redis))
