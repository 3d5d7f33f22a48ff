"""Card state in the store: tokens, TTLs, forged tokens, concurrent taps."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Callable

import fakeredis
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.cards.picker import VariantPicker
from bot.cards.state import (
    MAX_ATTEMPTS,
    TOKEN_LENGTH,
    CardBusy,
    CardState,
    CardStore,
    is_token,
    new_token,
)
from bot.catbuy.payload import parse_item
from tests.conftest import FIXTURES
from tests.redis_server import free_port

TTL = 3600


async def created(cards: CardStore, state: CardState) -> str:
    """A card saved under a fresh token, as the card service saves one."""
    token = new_token()
    assert await cards.save(token, state)
    return token


def make_state() -> CardState:
    item = parse_item(json.loads((FIXTURES / "taobao_two_dims.json").read_text()))
    picker = VariantPicker(item)
    return CardState(
        item=item,
        lang="en",
        choice=picker.empty_choice(),
        pages=(0,) * len(picker.dimensions),
        source_url=item.ref.canonical_url,
    )


@pytest.fixture
async def second(store: Redis) -> AsyncIterator[Redis]:
    """Another client of the same store, as another process would have."""
    pool = store.connection_pool
    client = Redis(
        connection_pool=ConnectionPool(
            connection_class=pool.connection_class, **pool.connection_kwargs
        )
    )
    yield client
    await client.aclose()


async def test_create_and_get_round_trip(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    state = make_state()
    token = await created(cards, state)
    assert len(token) == TOKEN_LENGTH and is_token(token)
    assert len(token.encode()) == TOKEN_LENGTH
    assert await cards.get(token) == state
    assert 0 < await store.ttl(f"card:{token}") <= TTL
    other = await created(cards, state)
    assert other != token
    assert not await cards.save(token, make_state())  # a token is never reused
    assert await cards.get(token) == state


async def test_a_failed_redraw_is_remembered_for_every_process_until_drawn_whole(
    store: Redis, second: Redis
) -> None:
    cards, other = CardStore(store, ttl_seconds=TTL), CardStore(second, ttl_seconds=TTL)
    state = make_state()
    token = await created(cards, state)
    assert await other.get_for_redraw(token) == (state, False)
    await cards.mark_unsure(token)
    assert await other.get_for_redraw(token) == (state, True)
    assert await other.get(token) == state  # the flag is not part of what the card shows
    await cards.update(token, lambda old: old.model_copy(update={"photo": 2}))  # a tap
    moved, unsure = await other.get_for_redraw(token)
    assert moved is not None and moved.photo == 2 and unsure  # taps carry the flag on
    await other.mark_sure(token)
    assert await cards.get_for_redraw(token) == (moved, False)
    assert await cards.get_for_redraw("forged") == (None, False)


async def test_an_item_is_stored_once_compressed_for_all_its_cards(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    state = make_state()
    first, second = await created(cards, state), await created(cards, state)
    [item_key] = await store.keys("cardItem:*")
    assert zlib.decompress(await store.get(item_key)) == state.item.model_dump_json().encode()
    for token in (first, second):
        stored = json.loads(zlib.decompress(await store.get(f"card:{token}")))
        assert stored["item_key"] == item_key.decode() and "item" not in stored
        assert len(await store.get(f"card:{token}")) < 200
    # Another process, which never decoded the item, reads it from the store.
    assert await CardStore(store, ttl_seconds=TTL).get(second) == state


async def test_a_state_stored_compressed_with_its_item_inside_still_reads(store: Redis) -> None:
    """As the release before this one stored every card."""
    cards = CardStore(store, ttl_seconds=TTL)
    state = make_state()
    token = new_token()
    await store.set(f"card:{token}", zlib.compress(state.model_dump_json().encode()), ex=TTL)
    assert await cards.get(token) == state
    result = await cards.update(token, lambda s: s.model_copy(update={"photo": 1}))
    assert result is not None and await cards.get(token) == result[1]


async def test_a_tap_keeps_the_item_alive_as_long_as_the_card(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    [item_key] = await store.keys("cardItem:*")
    await store.expire(item_key, 10)
    assert await cards.update(token, lambda s: s.model_copy(update={"photo": 1}))
    assert await store.ttl(item_key) > TTL


async def test_a_card_whose_item_is_gone_is_gone(store: Redis) -> None:
    token = await created(CardStore(store, ttl_seconds=TTL), make_state())
    await store.delete(*await store.keys("cardItem:*"))
    fresh = CardStore(store, ttl_seconds=TTL)  # no decoded copy in memory
    assert await fresh.get(token) is None
    assert await fresh.update(token, lambda s: s) is None


async def test_a_state_saved_as_plain_json_still_reads_and_updates(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    state = make_state()
    token = new_token()
    await store.set(f"card:{token}", state.model_dump_json(), ex=TTL)  # an earlier release
    assert await cards.get(token) == state
    result = await cards.update(token, lambda s: s.model_copy(update={"photo": 2}))
    assert result is not None and result[1].photo == 2
    assert await cards.get(token) == result[1]


async def test_expired_card_is_gone(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    await store.pexpire(f"card:{token}", 1)
    await asyncio.sleep(0.02)
    assert await cards.get(token) is None
    assert await cards.update(token, lambda s: s) is None


async def test_forged_and_unknown_tokens(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    await created(cards, make_state())
    for token in ["", "short", "A" * 13, "AAAAAAAAAAA:", "AAAAAAAAAA é", "card:AAAAAAA"]:
        assert await cards.get(token) is None
        assert await cards.update(token, lambda s: s) is None
    assert await cards.get("A" * 12) is None  # well-formed, never issued
    assert await cards.update("A" * 12, lambda s: s) is None


async def test_malformed_tokens_never_reach_the_store() -> None:
    # A client of a port nothing listens on: any command would raise.
    dead = Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    cards = CardStore(dead, ttl_seconds=TTL)
    assert await cards.get("not a token!") is None
    assert await cards.update("x" * 64, lambda s: s) is None
    with pytest.raises(RedisConnectionError):  # proves the client really is dead
        await cards.get("A" * 12)
    await dead.aclose()


async def test_undecodable_state_is_none(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    await store.set(f"card:{token}", b"\xff{not json")
    assert await cards.get(token) is None
    assert await cards.update(token, lambda s: s) is None
    await store.set(f"card:{token}", json.dumps({"item": {}, "lang": "en"}))
    assert await cards.get(token) is None
    for broken in (zlib.compress(make_state().model_dump_json().encode())[:-8], b"x\x9c!"):
        await store.set(f"card:{token}", broken)
        assert await cards.get(token) is None
        assert await cards.update(token, lambda s: s) is None


async def test_update_returns_old_and_new_and_refreshes_ttl(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    await store.expire(f"card:{token}", 10)
    result = await cards.update(token, lambda s: s.model_copy(update={"choice": (1, 1)}))
    assert result is not None
    old, new = result
    assert old.choice == (-1, -1) and new.choice == (1, 1)
    assert (await cards.get(token)) == new
    assert await store.ttl(f"card:{token}") > 10


async def test_get_refreshes_ttl(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    await store.expire(f"card:{token}", 10)
    assert await cards.get(token) is not None
    assert await store.ttl(f"card:{token}") > 10


async def test_concurrent_taps_from_two_clients_lose_nothing(store: Redis, second: Redis) -> None:
    first = CardStore(store, ttl_seconds=TTL)
    other = CardStore(second, ttl_seconds=TTL)
    token = await created(first, make_state())

    def bump(state: CardState) -> CardState:
        return state.model_copy(update={"photo": state.photo + 1})

    results = await asyncio.gather(
        *((first if n % 2 else other).update(token, bump) for n in range(50))
    )
    final = await first.get(token)
    assert final is not None and final.photo == 50
    # Each tap saw a distinct predecessor: no two changes were applied to one state.
    olds = sorted(r[0].photo for r in results if r is not None)
    assert olds == list(range(50))


async def test_concurrent_toggles_apply_each_tap_once(store: Redis, second: Redis) -> None:
    cards = [CardStore(store, ttl_seconds=TTL), CardStore(second, ttl_seconds=TTL)]
    state = make_state()
    picker = VariantPicker(state.item)
    token = await created(cards[0], state)

    def toggle(dim: int, opt: int) -> Callable[[CardState], CardState]:
        def change(s: CardState) -> CardState:
            return s.model_copy(update={"choice": picker.toggle(s.choice, dim, opt)})

        return change

    # Toggling one option flips it between chosen and not, in any order: after
    # 21 taps on colour 2 and 20 on size 1, a lost or doubled tap shows.
    taps = [(0, 2)] * 21 + [(1, 1)] * 20
    await asyncio.gather(
        *(cards[n % 2].update(token, toggle(d, o)) for n, (d, o) in enumerate(taps))
    )
    final = await cards[0].get(token)
    assert final is not None
    assert final.choice == (2, -1)
    assert final.item == state.item and final.pages == state.pages


def sync_client(store: Redis) -> SyncRedis:
    """A blocking client of the same store, to write from inside a change."""
    kwargs = store.connection_pool.connection_kwargs
    if isinstance(store, fakeredis.FakeAsyncRedis):
        client: SyncRedis = fakeredis.FakeRedis(host=kwargs["host"], port=kwargs["port"])
        return client
    return SyncRedis(host=kwargs["host"], port=kwargs["port"], db=kwargs.get("db", 0))


async def test_endless_contention_raises_busy(store: Redis) -> None:
    cards = CardStore(store, ttl_seconds=TTL)
    token = await created(cards, make_state())
    meddler = sync_client(store)
    calls = 0

    def change(state: CardState) -> CardState:
        # Another process writes the card while we compute, every time.
        nonlocal calls
        calls += 1
        meddler.set(f"card:{token}", state.model_copy(update={"photo": calls}).model_dump_json())
        return state.model_copy(update={"photo": -1})

    with pytest.raises(CardBusy):
        await cards.update(token, change)
    assert calls == MAX_ATTEMPTS
    final = await cards.get(token)
    assert final is not None and final.photo == MAX_ATTEMPTS  # ours never overwrote theirs
    meddler.close()
