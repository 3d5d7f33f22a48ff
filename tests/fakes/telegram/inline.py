"""Inline mode as the Bot API runs it: queries, their answers, and the messages users send.

`InlineMode` checks `answerInlineQuery` by the real server's rules (one answer a
query, within its lifetime; at most 50 results with unique ids of 1-64 bytes;
captions within 1024 characters and texts within 4096 after entity parsing; a
valid keyboard and start parameter) and keeps each answer, so a test can
`choose` a result as a user sending it would: that makes an inline message,
edited afterwards by its `inline_message_id` with the same rules as chat
messages, except that an inline message takes no uploaded file.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from time import monotonic
from typing import Any

from aiogram.types import Update

from tests.fakes.telegram.keyboards import check_reply_markup
from tests.fakes.telegram.limits import (
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NO_CAPTION_TO_EDIT,
    NO_MEDIA_TO_EDIT,
    NO_TEXT_TO_EDIT,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    JsonDict,
    bad_request,
)
from tests.fakes.telegram.text import ParsedText, parse_text, utf16_len

RESULTS_LIMIT = 50
RESULT_ID_LIMIT = 64
# Telegram drops a query's answer after about ten seconds.
QUERY_LIFETIME = 10.0
RESULTS_TOO_MUCH = "Bad Request: RESULTS_TOO_MUCH"
RESULT_ID_INVALID = "Bad Request: RESULT_ID_INVALID"
RESULT_ID_DUPLICATE = "Bad Request: RESULT_ID_DUPLICATE"
QUERY_ID_INVALID = "Bad Request: QUERY_ID_INVALID"
START_PARAM_INVALID = "Bad Request: START_PARAM_INVALID"
PHOTO_URL_INVALID = "Bad Request: PHOTO_INVALID_DIMENSIONS"
MESSAGE_EMPTY = "Bad Request: MESSAGE_EMPTY"
NO_UPLOADS = "Bad Request: can't use file uploads for inline messages"
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PHOTO_TYPES = {"photo"}


@dataclass
class InlineMessage:
    """A message a user sent through inline mode: what it shows, by its id."""

    inline_message_id: str
    has_photo: bool
    content: ParsedText
    photo: str | None
    reply_markup: JsonDict | None


class InlineMode:
    """Queries the bot was asked, its answers to them, and the inline messages sent."""

    def __init__(self) -> None:
        self._asked: dict[str, tuple[float, JsonDict]] = {}
        self._answers: dict[str, list[JsonDict]] = {}
        self._messages: dict[str, InlineMessage] = {}
        self._query_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self.refused_photo_urls: set[str] = set()

    def query(
        self, text: str, *, user_id: int, language_code: str | None = "en", offset: str = ""
    ) -> Update:
        """The update Telegram delivers when the user types ``@bot text``."""
        query_id = f"iq{next(self._query_ids)}"
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language_code is not None:
            user["language_code"] = language_code
        raw = {"id": query_id, "from": user, "query": text, "offset": offset}
        self._asked[query_id] = (monotonic(), raw)
        return Update.model_validate({"update_id": 0, "inline_query": raw})

    def answered(self, query_id: str) -> list[JsonDict] | None:
        """The results the bot answered ``query_id`` with; None when not answered."""
        return self._answers.get(query_id)

    def answer(self, params: JsonDict) -> bool:
        """``answerInlineQuery``, checked as the Bot API checks it."""
        query_id = str(params.get("inline_query_id"))
        asked = self._asked.get(query_id)
        if asked is None:
            raise bad_request(QUERY_ID_INVALID)
        if query_id in self._answers or monotonic() - asked[0] > QUERY_LIFETIME:
            raise bad_request(QUERY_TOO_OLD)
        results = params.get("results") or []
        if len(results) > RESULTS_LIMIT:
            raise bad_request(RESULTS_TOO_MUCH)
        ids = [str(result.get("id", "")) for result in results]
        if any(not 1 <= len(i.encode()) <= RESULT_ID_LIMIT for i in ids):
            raise bad_request(RESULT_ID_INVALID)
        if len(set(ids)) != len(ids):
            raise bad_request(RESULT_ID_DUPLICATE)
        for result in results:
            _check_result(result, self.refused_photo_urls)
        button = params.get("button")
        if button is not None and not _START_PARAMETER.fullmatch(
            str(button.get("start_parameter", ""))
        ):
            raise bad_request(START_PARAM_INVALID)
        self._answers[query_id] = results
        return True

    def choose(self, query_id: str, index: int = 0) -> InlineMessage:
        """The user sends result ``index`` of the answer: a new inline message."""
        result = self._answers[query_id][index]
        if result.get("reply_markup") is None:
            raise AssertionError("a result without buttons makes no inline message id")
        inline_message_id = f"AgAAA{next(self._message_ids):06d}"
        if result["type"] in _PHOTO_TYPES or result["type"] == "photo":
            content = parse_text(result.get("caption", ""), result.get("parse_mode", "HTML"), None)
            photo = result.get("photo_url") or result.get("photo_file_id")
            has_photo = True
        else:
            message = result["input_message_content"]
            content = parse_text(message["message_text"], message.get("parse_mode", "HTML"), None)
            photo, has_photo = None, False
        sent = InlineMessage(inline_message_id, has_photo, content, photo, result["reply_markup"])
        self._messages[inline_message_id] = sent
        return sent

    def message(self, inline_message_id: str) -> InlineMessage:
        return self._messages[inline_message_id]

    def tap(
        self, inline_message_id: str, data: str, *, user_id: int, language_code: str | None = "en"
    ) -> Update:
        """A tap on an inline message's button: Telegram names the message, not a chat."""
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if language_code is not None:
            user["language_code"] = language_code
        query = {
            "id": f"cq{inline_message_id}{next(self._query_ids)}",
            "from": user,
            "chat_instance": "ci-inline",
            "inline_message_id": inline_message_id,
            "data": data,
        }
        return Update.model_validate({"update_id": 0, "callback_query": query})

    def edit(
        self,
        params: JsonDict,
        *,
        content: ParsedText | None,
        has_photo: bool,
        wrong_kind: str | None,
        photo: str | None,
        uploaded: bool,
    ) -> bool:
        """An edit by ``inline_message_id``; Telegram answers True for inline messages."""
        check_reply_markup(params.get("reply_markup"))
        stored = self._messages.get(str(params["inline_message_id"]))
        if stored is None:
            raise bad_request(MESSAGE_TO_EDIT_NOT_FOUND)
        if uploaded:
            raise bad_request(NO_UPLOADS)
        if wrong_kind is not None and stored.has_photo != has_photo:
            raise bad_request(wrong_kind)
        new_content = stored.content if content is None else content
        new_photo = stored.photo if photo is None else photo
        new_markup = params.get("reply_markup")
        if (new_content, new_photo, new_markup) == (
            stored.content,
            stored.photo,
            stored.reply_markup,
        ):
            raise bad_request(NOT_MODIFIED)
        stored.content, stored.photo, stored.reply_markup = new_content, new_photo, new_markup
        return True


def _check_result(result: JsonDict, refused_photo_urls: set[str]) -> None:
    markup = result.get("reply_markup")
    check_reply_markup(markup)
    kind = result.get("type")
    if kind == "photo":
        if not result.get("photo_url") and not result.get("photo_file_id"):
            raise bad_request("Bad Request: PHOTO_URL_EMPTY")
        if result.get("photo_url") and not result.get("thumbnail_url"):
            raise bad_request("Bad Request: PHOTO_THUMB_URL_EMPTY")
        if result.get("photo_url") in refused_photo_urls:
            raise bad_request(PHOTO_URL_INVALID)
        caption = parse_text(result.get("caption", ""), result.get("parse_mode"), None)
        if utf16_len(caption.text) > CAPTION_LIMIT:
            raise bad_request(CAPTION_TOO_LONG)
    elif kind == "article":
        content: Any = result.get("input_message_content") or {}
        text = parse_text(str(content.get("message_text", "")), content.get("parse_mode"), None)
        if not text.text.strip():
            raise bad_request(MESSAGE_EMPTY)
        if utf16_len(text.text) > TEXT_LIMIT:
            raise bad_request(TEXT_TOO_LONG)
        if not result.get("title"):
            raise bad_request("Bad Request: RESULT_TITLE_EMPTY")
    else:
        raise bad_request(f"Bad Request: result type {kind} is not used by this fake")


# Edits that find no content of their kind in an inline message fail like chat ones.
WRONG_KIND = {
    "editMessageText": NO_TEXT_TO_EDIT,
    "editMessageCaption": NO_CAPTION_TO_EDIT,
    "editMessageMedia": NO_MEDIA_TO_EDIT,
}
