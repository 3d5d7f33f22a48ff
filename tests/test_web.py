"""Web app: health, readiness, metrics, and the webhook intake against real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import test_utils, web
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError

from bot.config import ConfigError
from bot.ops.metrics import Metrics
from bot.storage.store import open_store
from bot.telegram.webhook import (
    SECRET_HEADER,
    ReadyState,
    WebhookIntake,
    create_web_app,
    readiness,
    run_web_server,
)
from tests.redis_server import STALL_SCRIPT

SECRET = "s3cret_token-OK"
TOKEN = "42:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _update(update_id: int, text: str = "hi") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }


class Handling:
    """What the test router saw, and a gate a slow handler waits on."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.finished: list[int] = []
        self.release = asyncio.Event()

    def dispatcher(self) -> Dispatcher:
        router = Router()

        @router.message()
        async def on_message(message: Message, handling: Handling) -> None:
            handling.seen.append(message.message_id)
            if message.text == "slow":
                await handling.release.wait()
            if message.text == "boom":
                raise RuntimeError("handler failed")
            handling.finished.append(message.message_id)

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        return dispatcher


async def _ready() -> ReadyState:
    return ReadyState(redis=True, breaker="closed")


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot(TOKEN)
    yield bot
    await bot.session.close()


Client = test_utils.TestClient[web.Request, web.Application]


async def _client(app: web.Application) -> Client:
    client: Client = test_utils.TestClient(test_utils.TestServer(app))
    await client.start_server()
    return client


def _intake(
    handling: Handling, bot: Bot, store: Redis, **kwargs: Any
) -> tuple[WebhookIntake, web.Application]:
    intake = WebhookIntake(
        handling.dispatcher(),
        bot,
        store,
        path="/webhook",
        secret=kwargs.pop("secret", SECRET),
        handler_kwargs={"handling": handling},
        **kwargs,
    )
    return intake, create_web_app(metrics=Metrics(), ready=_ready, webhook=intake)


async def _post(client: Client, update: dict[str, Any] | str, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    body = update if isinstance(update, str) else json.dumps(update)
    response = await client.post("/webhook", data=body, headers=headers)
    return response.status


def _dead_store() -> Redis:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return open_store(f"redis://127.0.0.1:{port}/0")


# --- health, readiness, metrics ---------------------------------------------------------


async def test_a_port_taken_by_another_process_is_a_configuration_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            await run_web_server(
                create_web_app(metrics=Metrics(), ready=_ready),
                "127.0.0.1",
                port,
                port_setting="METRICS_PORT",
            )
    assert str(caught.value).startswith(
        f"WEB_SERVER_HOST/METRICS_PORT: cannot listen on 127.0.0.1:{port}"
    )


async def test_healthz_is_ok() -> None:
    client = await _client(create_web_app(metrics=Metrics(), ready=_ready))
    try:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.text() == "ok"
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (ReadyState(redis=True, breaker="closed"), 200),
        (ReadyState(redis=True, breaker="open"), 200),
        (ReadyState(redis=False, breaker="closed"), 503),
    ],
)
async def test_readyz_follows_the_ready_callback(state: ReadyState, status: int) -> None:
    async def ready() -> ReadyState:
        return state

    client = await _client(create_web_app(metrics=Metrics(), ready=ready))
    try:
        response = await client.get("/readyz")
        assert response.status == status
        assert await response.json() == {"redis": state.redis, "breaker": state.breaker}
    finally:
        await client.close()


def _breaker(result: bool | Exception) -> Callable[[], Awaitable[bool]]:
    async def is_open() -> bool:
        if isinstance(result, Exception):
            raise result
        return result

    return is_open


async def test_readiness_probe_sees_real_redis_and_breaker(redis: Redis) -> None:
    assert await readiness(redis, _breaker(False))() == ReadyState(redis=True, breaker="closed")
    assert await readiness(redis, _breaker(True))() == ReadyState(redis=True, breaker="open")


async def test_a_redis_too_full_to_write_is_not_ready(redis: Redis) -> None:
    """noeviction at maxmemory: PING still answers, every claim and charge fails."""
    used = int((await redis.info("memory"))["used_memory"])
    await redis.config_set("maxmemory", used + 1024)
    with contextlib.suppress(RedisResponseError):  # refused already, or takes the last bytes
        await redis.set("filler", b"x" * 64 * 1024)
    try:
        assert await redis.ping()
        state = await readiness(redis, _breaker(False))()
    finally:
        await redis.config_set("maxmemory", 0)
    assert state == ReadyState(redis=False, breaker="closed")


async def test_metrics_and_readyz_reflect_redis_outage_and_open_breaker() -> None:
    dead = _dead_store()
    metrics = Metrics()
    metrics.cache_hits.inc(2)
    ready = readiness(dead, _breaker(RedisConnectionError("down")))
    client = await _client(create_web_app(metrics=metrics, ready=ready))
    try:
        response = await client.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"redis": False, "breaker": "open"}
        page = await client.get("/metrics")
        assert page.status == 200
        assert page.headers["Content-Type"].startswith("text/plain")
        text = await page.text()
        assert "catbuy_redis_up 0.0" in text
        assert "catbuy_breaker_open 1.0" in text
        assert "catbuy_cache_hits_total 2.0" in text
    finally:
        await client.close()
        await dead.aclose()


# --- webhook intake ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "wrong", "", SECRET + "x"])
async def test_wrong_or_missing_secret_is_rejected_and_not_processed(
    bot: Bot, redis: Redis, secret: str | None
) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        assert await _post(client, _update(1), secret=secret) == 403
        await intake.drain()
        assert handling.seen == []
        # Nothing was claimed either: the genuine delivery is processed.
        assert await redis.keys("upd:*") == []
    finally:
        await client.close()


async def test_authentic_update_is_acknowledged_and_handled(bot: Bot, redis: Redis) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        assert await _post(client, _update(5)) == 200
        await intake.drain()
        assert handling.finished == [5]
    finally:
        await client.close()


async def test_bad_body_is_400(bot: Bot, redis: Redis) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        assert await _post(client, "not json{") == 400
        assert await _post(client, json.dumps([1, 2])) == 400
        assert await _post(client, json.dumps({"update_id": "x"})) == 400
        await intake.drain()
        assert handling.seen == []
    finally:
        await client.close()


async def test_redelivered_update_is_processed_once_across_replicas(
    bot: Bot, redis_server: Any, redis: Redis
) -> None:
    handling = Handling()
    # Two replicas: separate intakes, dispatchers and Redis clients, one Redis.
    other_store = open_store(redis_server.url)
    first, first_app = _intake(handling, bot, redis)
    second, second_app = _intake(handling, bot, other_store)
    one, two = await _client(first_app), await _client(second_app)
    try:
        statuses = await asyncio.gather(
            _post(one, _update(11)),
            _post(two, _update(11)),
            _post(one, _update(11)),
            _post(two, _update(12)),
            _post(one, _update(12)),
        )
        assert list(statuses) == [200] * 5
        await first.drain()
        await second.drain()
        assert sorted(handling.seen) == [11, 12]
    finally:
        await one.close()
        await two.close()
        await other_store.aclose()


async def test_store_down_is_503_and_not_processed(bot: Bot) -> None:
    dead = _dead_store()
    handling = Handling()
    intake, app = _intake(handling, bot, dead, release_wait=0.1)
    client = await _client(app)
    try:
        assert await _post(client, _update(3)) == 503
        assert intake.in_flight == 0  # its claim is still being given up, in the background
        async with asyncio.timeout(10):  # not the whole 20 s drain for a store still down
            await intake.drain()
        assert handling.seen == []
    finally:
        await client.close()
        await dead.aclose()


async def test_an_update_whose_claim_timed_out_is_handled_when_redelivered(
    bot: Bot, redis_server: Any, redis: Redis
) -> None:
    """The claim runs once Redis is back, after the 503: the redelivery is not a duplicate."""
    impatient = open_store(redis_server.url, timeout=0.2)
    handling = Handling()
    intake, app = _intake(handling, bot, impatient)
    client = await _client(app)
    try:
        await impatient.ping()  # a pooled connection, as a running bot has
        stall = asyncio.create_task(redis.eval(STALL_SCRIPT, 0, 700))
        await asyncio.sleep(0.05)
        assert await _post(client, _update(61)) == 503
        await stall
        assert handling.seen == []
        assert await _post(client, _update(61)) == 200  # Telegram's redelivery
        await intake.drain()
        assert handling.finished == [61]
    finally:
        await client.close()
        await impatient.aclose()


async def test_drain_waits_for_in_flight_and_refuses_new(bot: Bot, redis: Redis) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis, drain_timeout=30)
    client = await _client(app)
    try:
        # Acknowledged while the handler is still blocked: handling is in the background.
        assert await _post(client, _update(21, "slow")) == 200
        drain = asyncio.create_task(intake.drain())
        await asyncio.sleep(0.05)
        assert not drain.done()
        assert await _post(client, _update(22)) == 503
        assert (await client.get("/readyz")).status == 503
        handling.release.set()
        await drain
        assert handling.finished == [21]
        assert handling.seen == [21]
    finally:
        await client.close()


async def test_updates_past_the_in_flight_bound_are_left_for_redelivery(
    bot: Bot, redis: Redis
) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis, max_in_flight=1)
    client = await _client(app)
    try:
        assert await _post(client, _update(71, "slow")) == 200
        assert await _post(client, _update(72)) == 503  # nothing claimed: redelivered later
        handling.release.set()
        await intake.drain()
        intake.draining = False
        assert await _post(client, _update(72)) == 200
        await intake.drain()
        assert handling.finished == [71, 72]
    finally:
        await client.close()


async def test_drain_is_bounded(bot: Bot, redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis, drain_timeout=0.1)
    client = await _client(app)
    try:
        assert await _post(client, _update(31, "slow")) == 200
        await asyncio.sleep(0.01)
        with caplog.at_level(logging.WARNING, logger="bot.telegram.webhook"):
            await intake.drain()
        assert intake.in_flight == 0
        assert handling.finished == []
        assert "drain timed out" in caplog.text
    finally:
        await client.close()


async def test_handler_exception_is_logged_not_raised(
    bot: Bot, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.telegram.webhook"):
            assert await _post(client, _update(41, "boom")) == 200
            await intake.drain()
        assert handling.seen == [41]
        assert "update 41 failed" in caplog.text
    finally:
        await client.close()


@pytest.mark.parametrize("secret", ["", None])
async def test_an_intake_without_a_secret_cannot_be_built(
    bot: Bot, redis: Redis, secret: str | None
) -> None:
    with pytest.raises(ValueError, match="secret"):
        _intake(Handling(), bot, redis, secret=secret)


def _nested(depth: int) -> str:
    return '{"update_id": 1, "message": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("nested 100,000 deep", "[" * 100_000 + "]" * 100_000),
        ("nested inside an update", _nested(100_000)),
        ("nested objects", '{"a":' * 50_000 + "1" + "}" * 50_000),
        ("not UTF-8", b'{"update_id": 1, "x": "\xff\xfe"}'),
        ("raw bytes", b"\xff\xfe\x00{"),
        ("a number", "1"),
        ("a string", '"update"'),
        ("null", "null"),
        ("an empty body", ""),
        ("a lone surrogate", '{"update_id": 1, "message": "\\ud800"}'),
        ("a huge number", '{"update_id": ' + "9" * 5000 + "}"),
        ("NaN", '{"update_id": NaN}'),
    ],
)
async def test_a_hostile_body_is_400_without_a_traceback(
    bot: Bot, redis: Redis, caplog: pytest.LogCaptureFixture, name: str, body: str | bytes
) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        with caplog.at_level(logging.DEBUG):
            response = await client.post("/webhook", data=body, headers={SECRET_HEADER: SECRET})
            assert response.status == 400, name
            assert "Traceback" not in await response.text()
        await intake.drain()
        assert handling.seen == []
        assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    finally:
        await client.close()


async def test_a_body_past_the_size_limit_is_refused_unread(
    bot: Bot, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    handling = Handling()
    intake, app = _intake(handling, bot, redis)
    client = await _client(app)
    try:
        huge = json.dumps({**_update(61), "pad": "x" * 3_000_000})
        with caplog.at_level(logging.DEBUG):
            response = await client.post("/webhook", data=huge, headers={SECRET_HEADER: SECRET})
        assert response.status == 413
        await intake.drain()
        assert handling.seen == []
        assert not any(r.exc_info for r in caplog.records)
    finally:
        await client.close()
