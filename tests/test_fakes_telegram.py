"""The Telegram fakes behave like Telegram: limits, error texts, HTTP, polling, webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)
from aiohttp import ClientSession, web

from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.telegram import (
    NOT_MODIFIED,
    RecordingSession,
    callback_update,
    make_bot,
    message_update,
    parse_html,
    url_entities,
    utf16_len,
)

TOKEN = "42:TEST-TOKEN"
PHOTO = "https://img.alicdn.com/imgextra/i1/photo.jpg"


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def button(data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text="x", callback_data=data)


@pytest.fixture
async def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
async def bot(session: RecordingSession) -> AsyncIterator[Bot]:
    bot = make_bot(session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
async def http_bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield bot
    await bot.session.close()


# --- RecordingSession: answers pass through aiogram's check_response ------------------


async def test_send_photo_echoes_caption_keyboard_and_photo_sizes(
    bot: Bot, session: RecordingSession
) -> None:
    markup = keyboard([button("pick:1")])
    message = await bot.send_photo(1001, PHOTO, caption="<b>Bag</b> &amp; co", reply_markup=markup)

    assert isinstance(message, Message)
    assert message.caption == "Bag & co"
    assert message.caption_entities is not None
    assert message.caption_entities[0].type == "bold"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == markup.model_dump()
    assert message.photo is not None and len(message.photo) == 3
    assert message.chat.id == 1001
    assert [type(m) for m in session.requests] == [SendPhoto]
    assert session.calls("sendPhoto")[0].photo == PHOTO  # type: ignore[attr-defined]
    assert session.sent[0].params["parse_mode"] == "HTML"


async def test_message_ids_increment_per_chat(bot: Bot) -> None:
    first = await bot.send_message(1001, "one")
    second = await bot.send_message(1001, "two")
    assert second.message_id == first.message_id + 1


async def test_forget_drops_the_record_and_message_ids_go_on(
    bot: Bot, session: RecordingSession
) -> None:
    first = await bot.send_message(1001, "one")
    session.forget()
    assert session.sent == [] and session.requests == []
    second = await bot.send_message(1001, "two")
    assert second.message_id == first.message_id + 1
    assert [call.method for call in session.sent] == ["sendMessage"]


async def test_caption_limit_counts_after_html_parsing(bot: Bot) -> None:
    # 1024 visible characters wrapped in markup and entities: accepted, as Telegram does.
    fits = "<b>" + "&amp;" * 1000 + "</b>" + "x" * 24
    await bot.send_photo(1001, PHOTO, caption=fits)

    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(1001, PHOTO, caption=fits + "y")


async def test_text_limit_and_unescaped_html_are_refused(bot: Bot) -> None:
    await bot.send_message(1001, "a" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1001, "a" * 4097)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1001, "price < 5 & size <M>")


async def test_callback_data_is_limited_in_bytes(bot: Bot) -> None:
    await bot.send_message(1001, "ok", reply_markup=keyboard([button("x" * 64)]))
    # 22 Cyrillic letters are 44 bytes and 33 are 66: the limit is bytes, not characters.
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "ok", reply_markup=keyboard([button("ж" * 33)]))


async def test_keyboard_size_limits(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(
            1001, "ok", reply_markup=keyboard([button(str(i)) for i in range(9)])
        )
    rows = [[button(f"{r}.{c}") for c in range(8)] for r in range(13)]
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(1001, "ok", reply_markup=keyboard(*rows))


async def test_identical_edit_is_not_modified(bot: Bot) -> None:
    markup = keyboard([button("a")])
    sent = await bot.send_photo(1001, PHOTO, caption="card", reply_markup=markup)

    with pytest.raises(TelegramBadRequest, match="message is not modified") as refused:
        await bot.edit_message_caption(
            chat_id=1001, message_id=sent.message_id, caption="card", reply_markup=markup
        )
    assert NOT_MODIFIED.removeprefix("Bad Request: ") in str(refused.value)

    other = keyboard([button("b")])
    edited = await bot.edit_message_reply_markup(
        chat_id=1001, message_id=sent.message_id, reply_markup=other
    )
    assert isinstance(edited, Message)
    assert edited.reply_markup is not None
    assert edited.reply_markup.model_dump() == other.model_dump()


async def test_edit_without_keyboard_removes_it_and_text_edit_of_photo_fails(bot: Bot) -> None:
    sent = await bot.send_photo(1001, PHOTO, caption="card", reply_markup=keyboard([button("a")]))

    edited = await bot.edit_message_caption(chat_id=1001, message_id=sent.message_id, caption="new")
    assert isinstance(edited, Message)
    assert edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("text", chat_id=1001, message_id=sent.message_id)


async def test_edit_media_swaps_photo_caption_and_keyboard(
    bot: Bot, session: RecordingSession
) -> None:
    sent = await bot.send_photo(1001, PHOTO, caption="card")
    edited = await bot.edit_message_media(
        InputMediaPhoto(media=PHOTO.replace("photo", "red"), caption="<i>red</i>"),
        chat_id=1001,
        message_id=sent.message_id,
        reply_markup=keyboard([button("b")]),
    )
    assert isinstance(edited, Message)
    assert edited.caption == "red"
    assert edited.photo is not None
    assert sent.photo is not None
    assert edited.photo[-1].file_id != sent.photo[-1].file_id
    assert session.sent[-1].params["media"]["parse_mode"] == "HTML"


async def test_refused_photo_url_raises_and_upload_is_recorded(
    bot: Bot, session: RecordingSession
) -> None:
    session.refuse_photo_url(PHOTO)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_photo(1001, PHOTO)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(1001, "https://cdn.example/refused.jpg")

    message = await bot.send_photo(1001, BufferedInputFile(b"\xff\xd8jpeg", filename="p.jpg"))
    assert session.sent[-1].upload() == b"\xff\xd8jpeg"
    assert message.photo is not None
    # The returned file_id is reusable, as Telegram's is.
    await bot.send_photo(1002, message.photo[-1].file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(1001, "not-a-file-id")


async def test_fail_next_raises_retry_after_once(bot: Bot, session: RecordingSession) -> None:
    session.fail_next("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(1001, "hi")
    assert refused.value.retry_after == 7
    await bot.send_message(1001, "hi")
    assert [call.status for call in session.sent] == [429, 200]


async def test_flood_after_answers_429_per_chat(bot: Bot, session: RecordingSession) -> None:
    session.flood_after(2, chat_id=-1001)
    await bot.send_message(-1001, "1")
    await bot.send_message(-1001, "2")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(-1001, "3")
    assert 1 <= refused.value.retry_after <= 60
    await bot.send_message(1001, "another chat is not limited")


async def test_true_methods_get_me_and_unknown(bot: Bot, session: RecordingSession) -> None:
    assert await bot.send_chat_action(1001, "typing") is True
    assert await bot.answer_callback_query("1", text="ok") is True
    me = await bot.get_me()
    assert me.id == 42 and me.is_bot
    messages = await bot.send_media_group(
        1001, [InputMediaPhoto(media=PHOTO), InputMediaPhoto(media=PHOTO + "?2")]
    )
    assert len(messages) == 2
    assert len(session.calls(SendMessage)) == 0


async def test_uploaded_file_can_be_downloaded_back(bot: Bot) -> None:
    message = await bot.send_photo(1001, BufferedInputFile(b"bytes", filename="p.jpg"))
    assert message.photo is not None
    downloaded = await bot.download(message.photo[-1].file_id)
    assert downloaded is not None
    assert downloaded.read() == b"bytes"


# --- update builders ------------------------------------------------------------------


def test_url_entities_count_utf16_after_emoji() -> None:
    text = "😀👍 look https://item.taobao.com/item.htm?id=1, and http://x.cn/y."
    entities = url_entities(text)

    assert [e["type"] for e in entities] == ["url", "url"]
    # Two astral emoji are four UTF-16 units, so the first link starts at 4 + len(" look ").
    assert entities[0]["offset"] == 10
    assert entities[0]["length"] == len("https://item.taobao.com/item.htm?id=1")
    second = text.index("http://x.cn/y")
    assert entities[1]["offset"] == utf16_len(text[:second]) == second + 2
    assert entities[1]["length"] == len("http://x.cn/y")  # trailing "." excluded


def test_builders_make_valid_updates() -> None:
    group = message_update("see https://a.1688.com/offer/1.html", chat_type="supergroup")
    assert group.message is not None
    assert group.message.chat.id < 0
    assert group.message.entities is not None
    assert group.message.entities[0].type == "url"
    assert group.message.from_user is not None
    assert group.message.from_user.language_code == "en"

    plain = message_update(None, caption="pic", photo=True)
    assert plain.message is not None and plain.message.photo
    assert plain.update_id > group.update_id

    tap = callback_update("p:abc:1", message_id=7, chat_id=1001, user_id=1001)
    assert tap.callback_query is not None
    assert tap.callback_query.data == "p:abc:1"
    assert isinstance(tap.callback_query.message, Message)
    assert tap.callback_query.message.photo

    with pytest.raises(ValueError, match="negative"):
        message_update("x", chat_id=5, chat_type="group")


def test_html_parser_entities_use_utf16_offsets() -> None:
    parsed = parse_html('😀 <a href="https://x.cn/?a=1&amp;b=2">link</a>')
    assert parsed.text == "😀 link"
    (entity,) = parsed.entity_dicts()
    assert entity == {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.cn/?a=1&b=2"}


async def test_callback_update_feeds_a_dispatcher(bot: Bot, session: RecordingSession) -> None:
    router = Router()

    @router.callback_query(F.data.startswith("p:"))
    async def on_tap(query: Any) -> None:
        await query.answer("picked")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await dispatcher.feed_update(bot, callback_update("p:1", message_id=3, chat_id=1, user_id=1))
    assert session.sent[-1].method == "answerCallbackQuery"
    assert session.sent[-1].params["text"] == "picked"


# --- FakeBotApi: a real aiogram Bot over HTTP -----------------------------------------


async def test_http_get_me_send_message_and_upload(http_bot: Bot, api: FakeBotApi) -> None:
    me = await http_bot.get_me()
    assert me.id == 42

    markup = keyboard([button("a"), InlineKeyboardButton(text="go", url="https://t.me/x")])
    message = await http_bot.send_message(-1001, "<b>hi</b>", reply_markup=markup)
    assert message.text == "hi"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == markup.model_dump()

    photo = await http_bot.send_photo(
        1001, BufferedInputFile(b"\x89PNGdata", filename="p.png"), caption="c"
    )
    assert photo.photo is not None
    call = await api.wait_for("sendPhoto")
    assert call.upload(call.params["photo"]) == b"\x89PNGdata"
    sent = await api.wait_for("sendMessage")
    assert sent.params["chat_id"] == -1001
    assert sent.reply_markup == markup.model_dump(exclude_none=True)


async def test_http_limits_share_the_rules(http_bot: Bot, api: FakeBotApi) -> None:
    api.refuse_photo_url(PHOTO)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await http_bot.send_photo(1001, PHOTO, caption="x")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await http_bot.send_photo(1001, PHOTO + "?ok", caption="x" * 1025)
    api.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as refused:
        await http_bot.send_message(1001, "hi")
    assert refused.value.retry_after == 3
    with pytest.raises(TelegramNotFound, match="method not found"):
        await http_bot.session.make_request(http_bot, _UnknownMethod())
    download = await http_bot.session.stream_content(
        f"{api.base_url}/file/bot{TOKEN}/photos/none.jpg", raise_for_status=False
    ).__anext__()
    assert b"Not Found" in download


async def test_http_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot("42:WRONG", session=session)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await session.close()


async def test_http_get_updates_long_polls(http_bot: Bot, api: FakeBotApi) -> None:
    poll = asyncio.create_task(http_bot.get_updates(timeout=5))
    await _until(lambda: api.waiting_polls == 1)
    assert not poll.done()
    pushed = api.push_update(message_update("hello"))
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [pushed["update_id"]]

    # An offset confirms what came before it.
    assert await http_bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == []


async def test_polling_dispatcher_answers_an_update(http_bot: Bot, api: FakeBotApi) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(f"got {message.text}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    api.push_update(message_update("ping", chat_id=555, user_id=555))
    polling = asyncio.create_task(
        dispatcher.start_polling(http_bot, polling_timeout=1, handle_signals=False)
    )
    try:
        answer = await api.wait_for("sendMessage", timeout=10)
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 10)
    assert answer.params == {"chat_id": 555, "text": "got ping", "parse_mode": "HTML"}


async def test_webhook_registration_blocks_polling_and_push_webhook(
    http_bot: Bot, api: FakeBotApi
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(status=200 if secret == "s3cret" else 403)

    app = web.Application()
    app.router.add_post("/webhook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/webhook"
        await http_bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
        assert api.webhook is not None
        assert api.webhook.secret_token == "s3cret"
        assert api.webhook.allowed_updates == ["message"]
        assert (await http_bot.get_webhook_info()).url == url
        with pytest.raises(TelegramConflictError):
            await http_bot.get_updates(timeout=0)

        assert await api.push_webhook(url, message_update("hi"), "s3cret") == 200
        assert await api.push_webhook(url, message_update("hi"), None) == 403
        assert received[0][1]["message"]["text"] == "hi"
        assert received[0][1]["message"]["from"]["id"] == 1001

        await http_bot.delete_webhook()
        assert api.webhook is None
        assert await http_bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def test_http_accepts_json_and_form_bodies_case_insensitively(api: FakeBotApi) -> None:
    base = f"{api.base_url}/bot{TOKEN}"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}
    async with ClientSession() as client:
        async with client.post(
            f"{base}/SENDMESSAGE", json={"chat_id": 5, "text": "json", "reply_markup": markup}
        ) as response:
            assert response.status == 200
            body = await response.json()
        async with client.post(
            f"{base}/sendMessage", data={"chat_id": "5", "text": "", "parse_mode": "HTML"}
        ) as response:
            refused = await response.json()
    assert body["result"]["reply_markup"] == markup
    assert refused == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
    assert [call.params["chat_id"] for call in api.calls("sendMessage")] == [5, 5]


async def test_a_second_long_poll_ends_the_first_with_conflict(
    http_bot: Bot, api: FakeBotApi
) -> None:
    first = asyncio.create_task(http_bot.get_updates(timeout=5))
    await _until(lambda: api.waiting_polls == 1)
    second = asyncio.create_task(http_bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 5)
    api.push_update(
        {"message": message_update("x").model_dump(by_alias=True, mode="json")["message"]}
    )
    assert len(await asyncio.wait_for(second, 5)) == 1


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the server state is a plain counter
            await asyncio.sleep(0.01)


class _UnknownMethod(SendMessage):
    """A method the Bot API does not have, to see the 404 answer."""

    __api_method__ = "sendTelepathy"

    def __init__(self) -> None:
        super().__init__(chat_id=1, text="x")


async def test_send_document_takes_an_upload_with_its_name_and_the_rules(bot: Bot) -> None:
    sent = await bot.send_document(
        1001, BufferedInputFile(b"date,n\n", filename="stats.csv"), caption="<b>csv</b>"
    )
    assert sent.document is not None and sent.caption == "csv"
    assert (sent.document.file_name, sent.document.file_size) == ("stats.csv", 7)
    again = await bot.send_document(1001, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="file must be non-empty"):
        await bot.send_document(1001, BufferedInputFile(b"", filename="empty.csv"))
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(1001, BufferedInputFile(b"x", filename="x"), caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(1001, "BQACnot-a-file")


async def test_http_send_document_is_a_multipart_upload(http_bot: Bot, api: FakeBotApi) -> None:
    sent = await http_bot.send_document(
        1001, BufferedInputFile(b"a,b\n1,2\n", filename="catbuy-stats.csv"), caption="c"
    )
    assert sent.document is not None and sent.document.file_name == "catbuy-stats.csv"
    call = await api.wait_for("sendDocument")
    assert call.upload(call.params["document"]) == b"a,b\n1,2\n"
    field = call.params["document"].removeprefix("attach://")
    assert call.file_names == {field: "catbuy-stats.csv"}
