"""The answers a process keeps in memory stay cheap for the garbage collector."""

from __future__ import annotations

import gc
import json

import pytest
from redis.asyncio import Redis

from bot.catbuy.payload import MAX_DIMENSIONS, MAX_OPTIONS, MAX_SKUS, parse_item
from bot.items.item import Dimension, Item, ItemRef, Option, Platform, Sku
from bot.lookup.item_cache import RECENT_OBJECTS, CacheEntry, EntryKind, ItemCache, objects_held
from bot.storage.packed_json import unpack
from tests.conftest import FIXTURES

ITEM_FIXTURES = [
    path
    for path in sorted(FIXTURES.glob("*.json"))
    if path.stem != "errors" and not path.stem.startswith("risk")
]


def big_item(item_id: int, colours: int = 30, sizes: int = 10) -> Item:
    """The two-dimension fixture grown to ``colours × sizes`` SKUs."""
    raw = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    data = raw["data"]
    data["num_iid"] = str(item_id)
    data["props_list"] = {
        **{f"1:{c}": f"Colour:C{c}" for c in range(colours)},
        **{f"2:{s}": f"Size:S{s}" for s in range(sizes)},
    }
    skus = [
        {"sku_id": f"{c}{s:03}", "properties": f"1:{c};2:{s}", "price": "89", "quantity": 5}
        for c in range(colours)
        for s in range(sizes)
    ]
    data["skus"] = {"sku": skus}
    return parse_item(raw)


def tracked_objects(root: object) -> int:
    """The objects a full collection walks for ``root`` (classes excluded)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or not gc.is_tracked(obj) or isinstance(obj, type):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return len(seen)


@pytest.mark.parametrize(
    "item",
    [
        *(parse_item(json.loads(path.read_text())) for path in ITEM_FIXTURES),
        big_item(1),
        big_item(2, colours=60, sizes=30),
    ],
    ids=lambda item: f"{item.platform.value}-{len(item.skus)}-skus",
)
def test_the_estimate_is_within_half_of_the_tracked_objects(item: Item) -> None:
    estimate, actual = objects_held(CacheEntry(EntryKind.ITEM, item=item)), tracked_objects(item)
    assert actual / 2 <= estimate <= actual * 2


def test_the_largest_item_the_payload_allows_fits_the_bound() -> None:
    # The recent answers' cache refuses (raises on) an answer larger than its bound.
    dimensions = tuple(
        Dimension(
            pid=str(d),
            name="",
            options=tuple(Option(key=f"{d}:{o}", label="x") for o in range(MAX_OPTIONS)),
        )
        for d in range(MAX_DIMENSIONS)
    )
    skus = tuple(Sku(sku_id=str(n), options=()) for n in range(MAX_SKUS))
    largest = Item(
        platform=Platform.TAOBAO, item_id="1", title="", dimensions=dimensions, skus=skus
    )
    assert objects_held(CacheEntry(EntryKind.ITEM, item=largest)) < RECENT_OBJECTS


async def test_big_items_are_kept_by_their_objects_not_their_number(store: Redis) -> None:
    cache = ItemCache(store, ttl_seconds=3600)
    entries = [CacheEntry(EntryKind.ITEM, item=big_item(n)) for n in range(200)]
    refs = [ItemRef(platform=Platform.TAOBAO, item_id=str(n)) for n in range(200)]
    for ref, entry in zip(refs, entries, strict=True):
        cache.publish(ref, "en", "token", entry)
    kept = [ref for ref in refs if cache.recent(ref, "en") is not None]
    await cache.aclose()
    assert sum(objects_held(entry) for entry in entries[: len(kept)]) <= RECENT_OBJECTS
    assert len(kept) >= RECENT_OBJECTS // objects_held(entries[0]) - 1
    assert kept == refs[-len(kept) :]  # the latest stay
    assert await cache.get(refs[0], "en") is not None  # the others are still in the store


async def test_an_item_is_stored_packed_and_a_plain_one_still_reads(store: Redis) -> None:
    item = parse_item(json.loads((FIXTURES / "taobao_two_dims.json").read_text()))
    ref, key = item.ref, f"cb:item:taobao:{item.item_id}:en"
    cache = ItemCache(store, ttl_seconds=3600)
    cache.publish(ref, "en", "token", CacheEntry(EntryKind.ITEM, item=item))
    await cache.aclose()  # the background write is done
    stored = await store.get(key)
    plain = item.model_dump_json().encode()
    assert stored[:1] == b"I" and unpack(stored[1:]) == plain
    assert len(stored) * 3 < len(plain)

    await store.set(key, b"I" + plain)  # as the previous release stored it
    elsewhere = ItemCache(store, ttl_seconds=3600)  # nothing in its memory
    assert await elsewhere.get(ref, "en") == CacheEntry(EntryKind.ITEM, item=item)
