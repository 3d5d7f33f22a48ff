"""An aiogram session that answers like the Bot API, and a real Bot on it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any, cast

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientResponseError, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from tests.fakes.telegram.bot_api import FakeTelegram
from tests.fakes.telegram.calls import SentCall
from tests.fakes.telegram.knobs import TelegramKnobs
from tests.fakes.telegram.limits import JsonDict


class RecordingSession(TelegramKnobs, BaseSession):
    """An aiogram session that records every method and answers it like the Bot API.

    Answers come from `FakeTelegram` as raw JSON and go through aiogram's own
    `check_response`, so a refused call raises `TelegramBadRequest`,
    `TelegramRetryAfter`, … exactly as in production.
    """

    def __init__(self, telegram: FakeTelegram | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.telegram = telegram or FakeTelegram()
        self.requests: list[TelegramMethod[Any]] = []
        self.closed = False
        self._content: dict[str, bytes] = {}
        self._delays: dict[str, deque[float]] = {}

    def delay_next(self, method: str, seconds: float) -> None:
        """The next `method` call takes `seconds` on the network before Telegram gets it."""
        self._delays.setdefault(method, deque()).append(seconds)

    @property
    def sent(self) -> list[SentCall]:
        return self.telegram.sent

    def forget(self) -> None:
        """Drop every recorded call and sent message.

        For long benchmark runs: Telegram keeps the messages, not the bot, so a
        fake that kept them all would grow the bot's heap and its GC pauses.
        """
        self.requests.clear()
        self.telegram.forget()

    def calls(self, method: str | type[TelegramMethod[Any]]) -> list[TelegramMethod[Any]]:
        """Recorded methods by API name (`"sendPhoto"`) or by class (`SendPhoto`)."""
        if isinstance(method, str):
            return [m for m in self.requests if m.__api_method__ == method]
        return [m for m in self.requests if isinstance(m, method)]

    def serve_content(self, url: str, data: bytes) -> None:
        """Bytes that `stream_content(url)` returns (e.g. for `URLInputFile`)."""
        self._content[url] = data

    async def close(self) -> None:
        self.closed = True

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        self.requests.append(method)
        self.telegram.bot_id = bot.id
        delays = self._delays.get(method.__api_method__)
        if delays:
            await asyncio.sleep(delays.popleft())
        uploads: dict[str, InputFile] = {}
        params: JsonDict = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=uploads, _dumps_json=False)
            if prepared is not None:
                params[key] = prepared
        files = {
            key: b"".join([chunk async for chunk in f.read(bot)]) for key, f in uploads.items()
        }
        names = {key: f.filename for key, f in uploads.items() if f.filename}
        if method.__api_method__ == "getUpdates" and not self.telegram.pending_updates(
            params.get("offset")
        ):
            # Long polling with nothing queued: yield instead of spinning the loop.
            await asyncio.sleep(min(float(params.get("timeout") or 0), 0.05))
        call = self.telegram.answer(method.__api_method__, params, files, names)
        content = call.page if call.page is not None else self.json_dumps(call.response)
        response = self.check_response(
            bot=bot, method=method, status_code=call.status, content=content
        )
        return cast(TelegramType, response.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's BaseSession signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        data = self._content.get(url)
        if data is None and "/file/bot" in url:
            data = self.telegram.file_bytes(url.split("/file/bot", 1)[1].split("/", 1)[-1])
        if data is None:
            if raise_for_status:
                info = RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
                raise ClientResponseError(info, (), status=404, message="Not Found")
            return
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]


def make_bot(session: RecordingSession | None = None, token: str = "42:TEST-TOKEN") -> Bot:
    """A real aiogram Bot on a `RecordingSession`, HTML parse mode like the product's."""
    return Bot(
        token=token,
        session=session or RecordingSession(),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
