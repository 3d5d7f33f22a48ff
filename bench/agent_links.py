"""What reading a 4096-character message full of shopping-agent links costs.

The message holds links of the agents every release has read (Kakobuy,
CNFans, Hoobuy, Sugargoo's double encoding, CSSBuy, ACBuy, …), one after the
other until Telegram's 4096 characters are full, with Telegram's own ``url``
entities, as a paste of a spreadsheet column arrives. Each round reads it the
way the links handler does (``find_links``: candidates, host checks, agent
forms, the nested marketplace URL), plus the group pre-check
(``might_hold_link``). No network, no store: the parsing alone.

Run: ``python -m bench.agent_links [--rounds 2000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from urllib.parse import quote

from bot.links.message import LinkEntity, find_links, might_hold_link


def _enc(url: str) -> str:
    return quote(url, safe="")


_WD = "https://weidian.com/item.html?itemID={id}"
_TB = "https://item.taobao.com/item.htm?id={id}"
_SHAPES = (
    "https://www.kakobuy.com/item/details?url={wd}&affcode=abc",
    "https://cnfans.com/product?id={id}&platform=TAOBAO&ref=71427",
    "https://hoobuy.com/product/1/{id}?utm_source=share&inviteCode=2X6A1vRD",
    "https://www.sugargoo.com/#/home/productDetail?productLink={wd2}&memberId=3419",
    "https://www.cssbuy.com/item-micro-{id}.html?promotionCode=Y2h3",
    "https://www.acbuy.com/product/?id={id}&source=WD&u=9MLILB",
    "https://mulebuy.com/product/?shop_type=taobao&id={id}",
    "https://www.allchinabuy.com/en/page/buy/?from=search-input&url={tb}&partnercode=wrf7xD",
    "https://www.oopbuy.com/product/weidian/{id}?inviteCode=DWBB8ZQ4U",
    "https://www.usfans.com/product/3/{id}?ref=MGRSBE",
)


def agent_message(limit: int = 4096) -> str:
    """Agent links, one a line, up to ``limit`` characters."""
    lines: list[str] = []
    length = 0
    number = 0
    while True:
        item_id = str(7231406953 + number)
        shape = _SHAPES[number % len(_SHAPES)]
        line = shape.format(
            id=item_id,
            wd=_enc(_WD.format(id=item_id)),
            wd2=_enc(_enc(_WD.format(id=item_id))),
            tb=_enc(_TB.format(id=item_id)),
        )
        if length + len(line) + 1 > limit:
            return "\n".join(lines)
        lines.append(line)
        length += len(line) + 1
        number += 1


def url_entities(text: str) -> list[LinkEntity]:
    """One ``url`` entity per line, as Telegram marks a column of links."""
    entities: list[LinkEntity] = []
    offset = 0
    for line in text.split("\n"):
        entities.append(LinkEntity("url", offset, len(line)))
        offset += len(line) + 1
    return entities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    text = agent_message()
    entities = url_entities(text)
    found = find_links(text, entities)
    timings: list[float] = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        might_hold_link(text, ())
        find_links(text, entities)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"{len(text)} characters, {len(entities)} agent links, {len(found.refs)} items read;"
        f" per message: median {statistics.median(timings) * 1e6:.0f} µs,"
        f" p95 {timings[int(len(timings) * 0.95)] * 1e6:.0f} µs, best {timings[0] * 1e6:.0f} µs"
    )


if __name__ == "__main__":
    main()
