"""Claims on webhook updates: one delivery handles each, whatever the store did late."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.telegram.update_claims import UpdateClaims


def _claims(store: Redis) -> UpdateClaims:
    return UpdateClaims(store, bot_id=42, ttl=60)


async def test_one_delivery_holds_an_update(store: Redis) -> None:
    claims = _claims(store)
    assert await claims.claim(7, "first")
    assert not await claims.claim(7, "redelivery")
    assert await claims.claim(8, "redelivery")


async def test_a_claim_sent_twice_still_holds_the_update(store: Redis) -> None:
    """redis-py sends a command again after a dropped connection: it may have run."""
    claims = _claims(store)
    assert await claims.claim(7, "first")
    assert await claims.claim(7, "first")
    assert not await claims.claim(7, "redelivery")


async def test_a_claim_given_up_after_it_ran_frees_the_update(store: Redis) -> None:
    claims = _claims(store)
    assert await claims.claim(7, "timed-out")
    await claims.release(7, "timed-out")
    assert await claims.claim(7, "redelivery")
    assert not await claims.claim(7, "another redelivery")


async def test_a_claim_given_up_before_it_ran_cannot_take_the_update(store: Redis) -> None:
    """The store ran the release first and the late claim after it."""
    claims = _claims(store)
    await claims.release(7, "timed-out")
    assert not await claims.claim(7, "timed-out")
    assert await claims.claim(7, "redelivery")


async def test_giving_up_leaves_another_delivery_s_claim(store: Redis) -> None:
    claims = _claims(store)
    assert await claims.claim(7, "redelivery")
    await claims.release(7, "timed-out")
    assert not await claims.claim(7, "timed-out")
    assert not await claims.claim(7, "third")
    assert await claims.claim(7, "redelivery")


async def test_claims_expire(store: Redis) -> None:
    claims = _claims(store)
    assert await claims.claim(7, "first")
    await claims.release(8, "gone")
    assert 0 < await store.ttl("upd:42:7") <= 60
    assert 0 < await store.ttl("upd:42:8:released") <= 60
