"""Updates as Telegram delivers them: messages, taps on buttons, with entities
and ids as Telegram makes them."""

from __future__ import annotations

import itertools
from time import time as wall_time

from aiogram.types import Update

from tests.fakes.telegram.limits import JsonDict
from tests.fakes.telegram.text import url_entities

# Telegram numbers updates and callback queries increasingly; unique ids across a test
# session keep dedupe-by-update_id logic honest.
_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_query_ids = itertools.count(1)

BOT_ID = 42


def _user(user_id: int, first_name: str, language_code: str | None) -> JsonDict:
    user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        user["language_code"] = language_code
    return user


def _chat(chat_id: int | None, chat_type: str, user_id: int, first_name: str) -> JsonDict:
    if chat_type == "private":
        chat_id = user_id if chat_id is None else chat_id
        if chat_id <= 0:
            raise ValueError("a private chat has a positive id")
        return {"id": chat_id, "type": "private", "first_name": first_name}
    if chat_id is None:
        chat_id = -1001000001001 if chat_type == "supergroup" else -1001
    if chat_id >= 0:
        raise ValueError(f"a {chat_type} chat has a negative id")
    return {"id": chat_id, "type": chat_type, "title": "Test group"}


def photo_sizes(tag: str = "user") -> list[JsonDict]:
    """A photo as Telegram describes it: several sizes, the largest last."""
    return [
        {
            "file_id": f"AgAC{tag}_{suffix}",
            "file_unique_id": f"{tag}{suffix}",
            "width": side,
            "height": side,
        }
        for suffix, side in (("s", 90), ("m", 320), ("x", 800))
    ]


def message_update(
    text: str | None,
    *,
    chat_id: int | None = None,
    user_id: int = 1001,
    chat_type: str = "private",
    entities: list[JsonDict] | None = None,
    caption: str | None = None,
    caption_entities: list[JsonDict] | None = None,
    photo: bool = False,
    language_code: str | None = "en",
    update_id: int | None = None,
    message_id: int | None = None,
    first_name: str = "Test",
    topic: int | None = None,
) -> Update:
    """A message update. Entities default to what Telegram detects: `url_entities` of the text
    (pass `[]` for none). Private chats default to the user's id, groups to a negative id.
    ``topic``: the forum topic (a supergroup with topics) the message was sent in."""
    message: JsonDict = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "date": int(wall_time()),
        "chat": _chat(chat_id, chat_type, user_id, first_name),
        "from": _user(user_id, first_name, language_code),
    }
    if topic is not None:
        if chat_type != "supergroup":
            raise ValueError("only a supergroup has forum topics")
        message["chat"]["is_forum"] = True
        message["message_thread_id"] = topic
        message["is_topic_message"] = True
    if text is not None:
        message["text"] = text
        found = url_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
    if caption is not None:
        message["caption"] = caption
        found = url_entities(caption) if caption_entities is None else caption_entities
        if found:
            message["caption_entities"] = found
    if photo:
        message["photo"] = photo_sizes()
    return Update.model_validate(
        {"update_id": next(_update_ids) if update_id is None else update_id, "message": message}
    )


def callback_update(
    data: str,
    *,
    message_id: int = 0,
    chat_id: int = 0,
    user_id: int,
    chat_type: str = "private",
    language_code: str | None = "en",
    update_id: int | None = None,
    has_photo: bool = True,
    caption: str = "card",
    reply_markup: JsonDict | None = None,
    message: JsonDict | None = None,
) -> Update:
    """A tap on an inline button of the bot's message `message_id` (a photo card by default).

    `message`: the message as Telegram holds it (`FakeTelegram.tap` passes it), else one
    made up of the other arguments.
    """
    if message is None:
        message = {
            "message_id": message_id,
            "date": int(wall_time()),
            "chat": _chat(chat_id, chat_type, user_id, "Test"),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "CatBuy Test"},
        }
        if has_photo:
            message["photo"] = photo_sizes("card")
            message["caption"] = caption
        else:
            message["text"] = caption
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
    query = {
        "id": str(next(_query_ids)),
        "from": _user(user_id, "Test", language_code),
        "chat_instance": f"ci{message['chat']['id']}",
        "message": message,
        "data": data,
    }
    return Update.model_validate(
        {
            "update_id": next(_update_ids) if update_id is None else update_id,
            "callback_query": query,
        }
    )


def update_to_dict(update: JsonDict | Update) -> JsonDict:
    """An update as Telegram sends it on the wire (`from`, no nulls)."""
    if isinstance(update, Update):
        return update.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(update)
