"""Telegram, faked at its HTTP boundary: Bot API rules, a recording session, update builders.

`FakeTelegram` is the one place that knows how the Bot API answers: the plausible
result for each method and the documented limits with Telegram's own error texts.
Both doubles use it, so they can never disagree:

- `RecordingSession` plugs into a real aiogram `Bot` (`make_bot()`), records every
  method and passes the canned answer through aiogram's own `check_response`, so
  results are validated and errors raised exactly as in production;
- `tests.fakes.bot_api_server.FakeBotApi` serves the same answers over HTTP for
  tests that run the bot as a real process.

The builders (`message_update`, `callback_update`, `url_entities`) make the
updates Telegram would deliver, with UTF-16 entity offsets as Telegram counts them.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import itertools
import math
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field, replace
from time import monotonic
from time import time as wall_time
from typing import Any, cast
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, Update
from aiohttp import ClientResponseError, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

JsonDict = dict[str, Any]

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BUTTONS_LIMIT = 100
BUTTONS_PER_ROW_LIMIT = 8
MEDIA_GROUP_SIZES = range(2, 11)

# Telegram's own error texts, so code that matches on them is tested against the real words.
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
TEXT_TOO_LONG = "Bad Request: message is too long"
TEXT_EMPTY = "Bad Request: message text is empty"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
BUTTON_WITHOUT_ACTION = "Bad Request: text buttons are unallowed in the inline keyboard"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
NO_PHOTO = "Bad Request: there is no photo in the request"
NO_DOCUMENT = "Bad Request: there is no document in the request"
# Uploads past the Bot API's 50 MB are refused by its front end, before any method runs.
TOO_LARGE = "Request Entity Too Large"
DOCUMENT_UPLOAD_LIMIT = 50 * 1024 * 1024
EMPTY_FILE = "Bad Request: file must be non-empty"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
NO_MEDIA_TO_EDIT = "Bad Request: there is no media in the message to edit"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MEDIA_GROUP_INVALID = "Bad Request: media group must include 2-10 items"
METHOD_NOT_FOUND = "Not Found: method not found"
PARSE_ERROR = "Bad Request: can't parse entities: "

MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
# What Telegram says to a late or second answer of a callback query.
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Methods whose plausible answer is a bare `True`.
TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "sendChatAction",
        "setMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "deleteWebhook",
        "setWebhook",
        "deleteMessages",
        "pinChatMessage",
        "unpinChatMessage",
        "leaveChat",
        "logOut",
        "close",
    }
)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument"})
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)


class BotApiRefusal(Exception):
    """An error answer of the Bot API: HTTP status, description, optional `retry_after`."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        parameters = {
            "retry_after": self.retry_after,
            "migrate_to_chat_id": self.migrate_to_chat_id,
        }
        if any(value is not None for value in parameters.values()):
            body["parameters"] = {k: v for k, v in parameters.items() if v is not None}
        return body


def bad_request(description: str) -> BotApiRefusal:
    return BotApiRefusal(400, description)


# --- text: UTF-16 lengths, bare-link entities, HTML parse mode -------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# Telegram ends an auto-detected link before trailing punctuation.
_BARE_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»…"


def url_entities(text: str) -> list[JsonDict]:
    """`url` entities for the bare http(s) links in `text`, offsets in UTF-16 like Telegram's."""
    entities: list[JsonDict] = []
    for match in _BARE_LINK.finditer(text):
        link = match.group().rstrip(_TRAILING_PUNCTUATION)
        if len(link) <= len("https://"):
            continue
        entities.append(
            {
                "type": "url",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(link),
            }
        )
    return entities


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Only these named entities are decoded; any other `&...` stays as it is, like Telegram.
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


@dataclass(frozen=True)
class ParsedText:
    """A text after entity parsing: what the user sees, and its entities."""

    text: str
    entities: tuple[tuple[tuple[str, Any], ...], ...] = ()

    def entity_dicts(self) -> list[JsonDict]:
        return [dict(entity) for entity in self.entities]


def parse_html(source: str) -> ParsedText:
    """Parse Telegram's HTML parse mode; malformed markup is refused as Telegram refuses it."""
    plain: list[str] = []
    length = 0  # UTF-16 length of the plain text so far
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[tuple[tuple[str, Any], ...]] = []
    position = 0
    while position < len(source):
        char = source[position]
        if char == "<":
            byte_offset = len(source[:position].encode())
            tag = _TAG.match(source, position)
            if tag is None:
                raise bad_request(
                    f'{PARSE_ERROR}Unsupported start tag "" at byte offset {byte_offset}'
                )
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in _TAG_ENTITY_TYPES:
                kind = "end" if closing else "start"
                raise bad_request(
                    f'{PARSE_ERROR}Unsupported {kind} tag "{name}" at byte offset {byte_offset}'
                )
            if not closing:
                attributes = {
                    key.lower(): html.unescape(next(v for v in values if v is not None))
                    for key, *values in _ATTRIBUTE.findall(tag.group(3))
                }
                stack.append((name, attributes, length))
            else:
                if not stack:
                    raise bad_request(
                        f"{PARSE_ERROR}Unexpected end tag at byte offset {byte_offset}"
                    )
                opened, attributes, start = stack.pop()
                if opened != name:
                    raise bad_request(
                        f"{PARSE_ERROR}Unmatched end tag at byte offset {byte_offset}, "
                        f'expected "</{opened}>", found "</{name}>"'
                    )
                entity = _entity(name, attributes, start, length - start)
                if entity is not None:
                    entities.append(entity)
            position = tag.end()
            continue
        if char == "&" and (reference := _HTML_ENTITY.match(source, position)):
            piece = html.unescape(reference.group())
            position = reference.end()
        else:
            piece = char
            position += 1
        plain.append(piece)
        length += utf16_len(piece)
    if stack:
        raise bad_request(
            f'{PARSE_ERROR}Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda entity: (dict(entity)["offset"], -dict(entity)["length"]))
    return ParsedText("".join(plain), tuple(entities))


def _entity(
    name: str, attributes: dict[str, str], offset: int, length: int
) -> tuple[tuple[str, Any], ...] | None:
    # Telegram drops empty entities, links without a target and spans that are not spoilers.
    if length == 0:
        return None
    if name == "span" and attributes.get("class") != "tg-spoiler":
        return None
    entity: JsonDict = {"type": _TAG_ENTITY_TYPES[name], "offset": offset, "length": length}
    if name == "a":
        if not attributes.get("href"):
            return None
        entity["url"] = attributes["href"]
    if name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    if name == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "0")
    return tuple(entity.items())


def parse_text(text: str, parse_mode: str | None, entities: Any) -> ParsedText:
    """A text as Telegram would see it after entity parsing in `parse_mode`."""
    if parse_mode and parse_mode.upper() == "HTML":
        return parse_html(text)
    # Markdown modes are only counted raw: the bot speaks HTML.
    given = entities if isinstance(entities, list) else []
    return ParsedText(text, tuple(tuple(sorted(entity.items())) for entity in given))


# --- keyboards ------------------------------------------------------------------------


def check_reply_markup(markup: Any) -> None:
    """Refuse an inline keyboard the way Telegram does: size, callback_data bytes, URLs."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if sum(len(row) for row in rows) > BUTTONS_LIMIT or any(
        len(row) > BUTTONS_PER_ROW_LIMIT for row in rows
    ):
        raise bad_request(MARKUP_TOO_LONG)
    for row in rows:
        for button in row:
            _check_button(button)


def _check_button(button: JsonDict) -> None:
    actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
    if not actions:
        raise bad_request(BUTTON_WITHOUT_ACTION)
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode())
        if not 1 <= size <= CALLBACK_DATA_LIMIT:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        url = str(button["url"])
        parts = urlsplit(url)
        valid = (parts.scheme in {"http", "https"} and bool(parts.hostname)) or (
            parts.scheme == "tg"
        )
        if not valid or any(char.isspace() for char in url):
            raise bad_request(
                f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
            )


# --- the Bot API itself ---------------------------------------------------------------


@dataclass
class SentCall:
    """One Bot API call as received: method, params (JSON fields parsed), uploads, answer."""

    method: str
    params: JsonDict
    files: dict[str, bytes] = field(default_factory=dict)
    time: float = field(default_factory=monotonic)
    file_names: dict[str, str] = field(default_factory=dict)
    status: int = 200
    response: JsonDict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def reply_markup(self) -> JsonDict | None:
        return cast("JsonDict | None", self.params.get("reply_markup"))

    def upload(self, value: Any = None) -> bytes | None:
        """Bytes uploaded for `value` (an `attach://` reference); by default the first upload."""
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        if value is None and self.files:
            return next(iter(self.files.values()))
        return None


@dataclass
class StoredMessage:
    """What Telegram remembers of a bot message, to answer edits like Telegram does."""

    chat: JsonDict
    message_id: int
    has_photo: bool
    content: ParsedText
    photo: list[JsonDict] = field(default_factory=list)
    media_key: str = ""
    document: JsonDict | None = None
    reply_markup: JsonDict | None = None
    reply_to: int | None = None


@dataclass
class StoredFile:
    """A file Telegram holds: `getFile` answers with its path, downloads serve its bytes."""

    file_id: str
    path: str
    data: bytes | None


class FakeTelegram:
    """The Bot API's behaviour, shared by `RecordingSession` and `FakeBotApi`.

    Test knobs: `refuse_photo_url`, `fail_next`, `flood_after`, `push_update`.
    Every call is recorded in `sent`; `wait_for` awaits one.
    """

    def __init__(self, bot_id: int = 42) -> None:
        self.bot_id = bot_id
        self.sent: list[SentCall] = []
        self._messages: dict[tuple[Any, int], StoredMessage] = {}
        self._answered_queries: set[Any] = set()
        self._deleted: set[tuple[Any, int]] = set()
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._refused_urls: dict[str, str] = {}
        self._failures: dict[str, deque[BotApiRefusal]] = {}
        self._flood_limits: dict[int | str | None, int] = {}
        self._migrated: dict[Any, int] = {}
        self._flood_log: dict[int | str, deque[float]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._updates: list[JsonDict] = []
        self._update_ids = itertools.count(1)
        self._returned: set[int] = set()
        self._upload_names: dict[str, str] = {}

    def forget(self) -> None:
        """Drop the record of sent calls, and the messages and files kept for later use."""
        self.sent.clear()
        self._messages.clear()
        self._deleted.clear()
        self._files.clear()
        self._answered_queries.clear()

    # knobs ------------------------------------------------------------------------

    def refuse_photo_url(self, url: str, description: str = WRONG_FILE) -> None:
        """Make Telegram refuse to fetch this photo URL (it caches such failures for days)."""
        self._refused_urls[url] = description

    def fail_next(
        self,
        method: str,
        status: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
    ) -> None:
        """Answer the next call of `method` with this error, once; `retry_after` only for 429."""
        failure = BotApiRefusal(status, description, retry_after if status == 429 else None)
        self._failures.setdefault(method, deque()).append(failure)

    def flood_after(self, n_per_minute: int, chat_id: int | str | None = None) -> None:
        """Answer 429 once a chat (every chat when `chat_id` is None) got n messages in 60 s."""
        self._flood_limits[chat_id] = n_per_minute

    def migrate(self, chat_id: int, to_chat_id: int) -> None:
        """The group became supergroup `to_chat_id`: sends to `chat_id` are refused, naming it."""
        self._migrated[chat_id] = to_chat_id

    def push_update(self, update: JsonDict | Update) -> JsonDict:
        """Queue an update for `getUpdates`; an `update_id` is assigned when missing."""
        raw = update_to_dict(update)
        if "update_id" not in raw:
            raw["update_id"] = self.next_update_id()
        self._updates.append(raw)
        return raw

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def tap(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int,
        language_code: str | None = "en",
    ) -> Update:
        """A tap on the bot's message as Telegram holds it now, its keyboard included.

        ``data`` is what the client sends: a button's own, or whatever a modified
        client makes up (callback data are not signed).
        """
        stored = self._messages[(chat_id, message_id)]
        message = self._message_dict(stored)
        return callback_update(data, user_id=user_id, language_code=language_code, message=message)

    # updates ----------------------------------------------------------------------

    def pending_updates(self, offset: int | None, limit: int = 100) -> list[JsonDict]:
        """Confirm updates below `offset` (they are gone for good) and return the next ones."""
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[: max(1, min(limit, 100))]

    def drop_pending_updates(self) -> None:
        self._updates.clear()

    @property
    def pending_update_count(self) -> int:
        return len(self._updates)

    # recording --------------------------------------------------------------------

    def calls(self, method: str) -> list[SentCall]:
        return [call for call in self.sent if call.method == method]

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[SentCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the test, not an I/O timeout
    ) -> SentCall:
        """The first matching call not returned by an earlier `wait_for`, awaiting it if needed."""
        matches = (
            _method_is(predicate_or_method)
            if isinstance(predicate_or_method, str)
            else predicate_or_method
        )
        deadline = monotonic() + timeout
        while True:
            for index, call in enumerate(self.sent):
                if index not in self._returned and matches(call):
                    self._returned.add(index)
                    return call
            if monotonic() >= deadline:
                seen = ", ".join(call.method for call in self.sent[-20:]) or "nothing"
                raise TimeoutError(f"no matching Bot API call in {timeout}s; last seen: {seen}")
            # Polling keeps this free of loop-bound primitives, so the object works in any loop.
            await asyncio.sleep(0.01)

    # answering --------------------------------------------------------------------

    def answer(
        self,
        method: str,
        params: JsonDict,
        files: dict[str, bytes],
        file_names: dict[str, str] | None = None,
    ) -> SentCall:
        """Answer one call (recorded in `sent`): status and JSON body as Telegram would.

        ``file_names``: the uploads' names as the multipart body gave them."""
        call = SentCall(method=method, params=params, files=files, file_names=file_names or {})
        self._upload_names = call.file_names
        try:
            failures = self._failures.get(method)
            if failures:
                raise failures.popleft()
            result = self._result(method, params, files)
            call.response = {"ok": True, "result": result}
        except BotApiRefusal as refusal:
            call.status, call.response = refusal.status, refusal.payload()
        self.sent.append(call)
        return call

    def _result(self, method: str, params: JsonDict, files: dict[str, bytes]) -> Any:
        if method == "answerCallbackQuery":
            query_id = params.get("callback_query_id")
            if query_id in self._answered_queries:  # Telegram takes one answer a query
                raise bad_request(QUERY_TOO_OLD)
            self._answered_queries.add(query_id)
        if method in TRUE_METHODS:
            if method in {"setWebhook", "deleteWebhook"} and params.get("drop_pending_updates"):
                self.drop_pending_updates()
            return True
        if method == "getMe":
            return self.bot_user()
        if method in SEND_METHODS or method in EDIT_METHODS:
            self._check_migrated(params.get("chat_id"))
            self._check_flood(params.get("chat_id"))
        handlers: dict[str, Callable[[JsonDict, dict[str, bytes]], Any]] = {
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_text,
            "editMessageCaption": self._edit_caption,
            "editMessageMedia": self._edit_media,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "getFile": self._get_file,
            "getUpdates": lambda p, _: self.pending_updates(p.get("offset"), p.get("limit", 100)),
            "getWebhookInfo": lambda _p, _f: {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": self.pending_update_count,
            },
        }
        handler = handlers.get(method)
        if handler is None:
            raise BotApiRefusal(404, METHOD_NOT_FOUND)
        return handler(params, files)

    def bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CatBuy Test",
            "username": "catbuy_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def file_bytes(self, path: str) -> bytes | None:
        """Bytes of a file Telegram holds, by its `file_path`; None when it cannot be fetched."""
        for stored in self._files.values():
            if stored.path == path:
                return stored.data
        return None

    def _check_migrated(self, chat_id: Any) -> None:
        moved_to = self._migrated.get(chat_id)
        if moved_to is not None:
            raise BotApiRefusal(400, MIGRATED, migrate_to_chat_id=moved_to)

    def _check_flood(self, chat_id: Any) -> None:
        if chat_id is None:
            return
        limit = self._flood_limits.get(chat_id, self._flood_limits.get(None))
        if limit is None:
            return
        now = monotonic()
        log = self._flood_log.setdefault(chat_id, deque())
        while log and now - log[0] >= 60:
            log.popleft()
        if len(log) >= limit:
            retry_after = max(1, math.ceil(60 - (now - log[0])))
            raise BotApiRefusal(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        log.append(now)

    # sending ----------------------------------------------------------------------

    def _send_message(self, params: JsonDict, _files: dict[str, bytes]) -> JsonDict:
        content = self._text(params, "text", "entities")
        check_reply_markup(params.get("reply_markup"))
        message = self._new_message(params, has_photo=False, content=content)
        return self._message_dict(message)

    def _send_photo(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        photo, media_key = self._photo(params.get("photo"), files)
        content = self._caption(params.get("caption"), params.get("parse_mode"), params)
        check_reply_markup(params.get("reply_markup"))
        message = self._new_message(params, has_photo=True, content=content)
        message.photo, message.media_key = photo, media_key
        return self._message_dict(message)

    def _send_document(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        """A file as a document: an upload (``attach://``) or a file_id Telegram holds."""
        value = params.get("document")
        if not isinstance(value, str) or not value:
            raise bad_request(NO_DOCUMENT)
        if value.startswith("attach://"):
            data = files.get(value.removeprefix("attach://"))
            if data is None:
                raise bad_request(NO_DOCUMENT)
            if not data:
                raise bad_request(EMPTY_FILE)
            if len(data) > DOCUMENT_UPLOAD_LIMIT:
                raise BotApiRefusal(413, TOO_LARGE)
            digest = hashlib.sha1(data).hexdigest()[:16]
            file_id = f"BQACup{digest}"
            path = f"documents/file_{next(self._file_numbers)}"
            self._files.setdefault(file_id, StoredFile(file_id, path, data))
            document = {
                "file_id": file_id,
                "file_unique_id": digest[:12],
                "file_name": self._upload_names.get(value.removeprefix("attach://"), "file"),
                "file_size": len(data),
            }
        elif value in self._files:
            stored = self._files[value]
            document = {"file_id": value, "file_unique_id": value[-12:]}
            if stored.data is not None:
                document["file_size"] = len(stored.data)
        else:
            raise bad_request(WRONG_FILE)
        content = self._caption(params.get("caption"), params.get("parse_mode"), params)
        check_reply_markup(params.get("reply_markup"))
        message = self._new_message(params, has_photo=True, content=content)
        message.document = document
        return self._message_dict(message)

    def _send_media_group(self, params: JsonDict, files: dict[str, bytes]) -> list[JsonDict]:
        media = params.get("media")
        if not isinstance(media, list) or len(media) not in MEDIA_GROUP_SIZES:
            raise bad_request(MEDIA_GROUP_INVALID)
        prepared = []
        for item in media:
            photo, media_key = self._photo(item.get("media"), files)
            content = self._caption(item.get("caption"), item.get("parse_mode"), item)
            prepared.append((photo, media_key, content))
        messages = []
        for photo, media_key, content in prepared:
            message = self._new_message(params, has_photo=True, content=content)
            message.photo, message.media_key = photo, media_key
            messages.append(self._message_dict(message))
        return messages

    def _text(self, params: JsonDict, key: str, entities_key: str) -> ParsedText:
        content = parse_text(
            str(params.get(key, "")), params.get("parse_mode"), params.get(entities_key)
        )
        if not content.text.strip():
            raise bad_request(TEXT_EMPTY)
        if len(content.text) > TEXT_LIMIT:
            raise bad_request(TEXT_TOO_LONG)
        return content

    def _caption(self, caption: Any, parse_mode: Any, params: JsonDict) -> ParsedText:
        if caption is None:
            return ParsedText("")
        content = parse_text(str(caption), parse_mode, params.get("caption_entities"))
        if len(content.text) > CAPTION_LIMIT:
            raise bad_request(CAPTION_TOO_LONG)
        return content

    def _photo(self, value: Any, files: dict[str, bytes]) -> tuple[list[JsonDict], str]:
        """The photo sizes Telegram would make of a URL, an upload or a file_id; and its key."""
        if not isinstance(value, str) or not value:
            raise bad_request(NO_PHOTO)
        if value.startswith("attach://"):
            data = files.get(value.removeprefix("attach://"))
            if data is None:
                raise bad_request(NO_PHOTO)
            if not data:
                raise bad_request(EMPTY_FILE)
            digest = hashlib.sha1(data).hexdigest()[:16]
            return self._photo_sizes(f"AgACup{digest}", data), f"upload:{digest}"
        if value.startswith(("http://", "https://")):
            refusal = self._refused_urls.get(value)
            if refusal is None and "refused" in value:
                refusal = WRONG_FILE
            if refusal is not None:
                raise bad_request(refusal)
            digest = hashlib.sha1(value.encode()).hexdigest()[:16]
            return self._photo_sizes(f"AgACurl{digest}", None), f"url:{value}"
        # A file_id: ours, or one a test built (Telegram's photo ids start with "AgAC").
        if value in self._files or value.startswith("AgAC"):
            known = self._files.get(value)
            base, _, suffix = value.rpartition("_")
            if suffix not in {"s", "m", "x"}:
                base = value
            return self._photo_sizes(base, known.data if known else None), f"file:{base}"
        raise bad_request(WRONG_FILE)

    def _photo_sizes(self, base: str, data: bytes | None) -> list[JsonDict]:
        sizes = []
        for suffix, side in (("s", 90), ("m", 320), ("x", 800)):
            file_id = f"{base}_{suffix}"
            if file_id not in self._files:
                path = f"photos/file_{next(self._file_numbers)}.jpg"
                self._files[file_id] = StoredFile(file_id, path, data)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"{base[-12:]}{suffix}",
                    "width": side,
                    "height": side,
                    "file_size": len(data) if data else side * side // 4,
                }
            )
        return sizes

    def _new_message(
        self, params: JsonDict, *, has_photo: bool, content: ParsedText
    ) -> StoredMessage:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise bad_request("Bad Request: chat_id is empty")
        numbers = self._message_ids.setdefault(chat_id, itertools.count(1000))
        reply = params.get("reply_parameters") or {}
        message = StoredMessage(
            chat=chat_dict(chat_id),
            message_id=next(numbers),
            has_photo=has_photo,
            content=content,
            reply_markup=params.get("reply_markup"),
            reply_to=reply.get("message_id") or params.get("reply_to_message_id"),
        )
        self._messages[(chat_id, message.message_id)] = message
        return message

    def _message_dict(self, message: StoredMessage) -> JsonDict:
        body: JsonDict = {
            "message_id": message.message_id,
            "date": int(wall_time()),
            "chat": message.chat,
            "from": self.bot_user(),
        }
        text_key, entities_key = (
            ("caption", "caption_entities")
            if message.has_photo
            else (
                "text",
                "entities",
            )
        )
        if message.content.text:
            body[text_key] = message.content.text
        if message.content.entities:
            body[entities_key] = message.content.entity_dicts()
        if message.document is not None:
            body["document"] = message.document
        elif message.has_photo:
            body["photo"] = message.photo
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.reply_to is not None:
            body["reply_to_message"] = {
                "message_id": message.reply_to,
                "date": int(wall_time()),
                "chat": message.chat,
            }
        return body

    # editing ----------------------------------------------------------------------

    def _edit(
        self,
        params: JsonDict,
        *,
        content: ParsedText | None,
        has_photo: bool,
        wrong_kind: str | None,
        photo: tuple[list[JsonDict], str] | None = None,
    ) -> Any:
        """Apply an edit as Telegram does; an edit without `reply_markup` removes the keyboard."""
        check_reply_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return True
        key = _message_key(params)
        if key in self._deleted:
            raise bad_request(MESSAGE_TO_EDIT_NOT_FOUND)
        stored = self._messages.get(key)
        if stored is None:
            # A message this fake never sent (a test-built update): trust the test.
            stored = StoredMessage(chat_dict(key[0]), key[1], has_photo, ParsedText(""))
        elif wrong_kind is not None and stored.has_photo != has_photo:
            raise bad_request(wrong_kind)
        edited = replace(
            stored,
            content=stored.content if content is None else content,
            reply_markup=params.get("reply_markup"),
        )
        if photo is not None:
            edited.photo, edited.media_key = photo
        if key in self._messages and edited == stored:
            raise bad_request(NOT_MODIFIED)
        self._messages[key] = edited
        return self._message_dict(edited)

    def _edit_text(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        content = self._text(params, "text", "entities")
        return self._edit(params, content=content, has_photo=False, wrong_kind=NO_TEXT_TO_EDIT)

    def _edit_caption(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        content = self._caption(params.get("caption"), params.get("parse_mode"), params)
        return self._edit(params, content=content, has_photo=True, wrong_kind=NO_CAPTION_TO_EDIT)

    def _edit_media(self, params: JsonDict, files: dict[str, bytes]) -> Any:
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("Bad Request: can't parse InputMedia JSON object")
        photo = self._photo(media.get("media"), files)
        content = self._caption(media.get("caption"), media.get("parse_mode"), media)
        return self._edit(
            params, content=content, has_photo=True, wrong_kind=NO_MEDIA_TO_EDIT, photo=photo
        )

    def _edit_reply_markup(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        return self._edit(params, content=None, has_photo=True, wrong_kind=None)

    def _delete_message(self, params: JsonDict, _files: dict[str, bytes]) -> bool:
        key = _message_key(params)
        if key in self._deleted:
            raise bad_request("Bad Request: message to delete not found")
        self._messages.pop(key, None)
        self._deleted.add(key)
        return True

    def _get_file(self, params: JsonDict, _files: dict[str, bytes]) -> JsonDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("Bad Request: invalid file_id")
        answer: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_id[-12:],
            "file_path": stored.path,
        }
        if stored.data is not None:
            answer["file_size"] = len(stored.data)
        return answer


def _method_is(name: str) -> Callable[[SentCall], bool]:
    return lambda call: call.method == name


def _message_key(params: JsonDict) -> tuple[Any, int]:
    return params.get("chat_id"), int(params.get("message_id", 0))


def chat_dict(chat_id: Any) -> JsonDict:
    """The Chat object for an id: negative ids are groups (`-100…` supergroups)."""
    if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
        return {"id": -1001000000001, "type": "channel", "title": chat_id}
    number = int(chat_id)
    if number > 0:
        return {"id": number, "type": "private", "first_name": "Test"}
    if str(number).startswith("-100"):
        return {"id": number, "type": "supergroup", "title": "Test group"}
    return {"id": number, "type": "group", "title": "Test group"}


def update_to_dict(update: JsonDict | Update) -> JsonDict:
    """An update as Telegram sends it on the wire (`from`, no nulls)."""
    if isinstance(update, Update):
        return update.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(update)


# --- the recording session ------------------------------------------------------------


class RecordingSession(BaseSession):
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

    def refuse_photo_url(self, url: str, description: str = WRONG_FILE) -> None:
        self.telegram.refuse_photo_url(url, description)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
    ) -> None:
        self.telegram.fail_next(method, status, description, retry_after)

    def flood_after(self, n_per_minute: int, chat_id: int | str | None = None) -> None:
        self.telegram.flood_after(n_per_minute, chat_id)

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
        response = self.check_response(
            bot=bot, method=method, status_code=call.status, content=self.json_dumps(call.response)
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


# --- updates as Telegram delivers them ------------------------------------------------

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


def texts(calls: Iterable[SentCall]) -> list[str]:
    """The visible text (text or caption) of each call, for quick assertions."""
    return [str(call.params.get("text", call.params.get("caption", ""))) for call in calls]
