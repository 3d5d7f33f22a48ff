"""What Telegram keeps of the bot's messages and files, to answer edits, deletes,
photos and ``getFile`` as Telegram does."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from time import time as wall_time
from typing import Any

from tests.fakes.telegram.keyboards import check_reply_markup
from tests.fakes.telegram.limits import (
    DOCUMENT_UPLOAD_LIMIT,
    EMPTY_FILE,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NO_DOCUMENT,
    NO_PHOTO,
    NOT_MODIFIED,
    TOO_LARGE,
    WRONG_FILE,
    BotApiRefusal,
    JsonDict,
    bad_request,
)
from tests.fakes.telegram.text import ParsedText


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


class MessageStore:
    """The bot's messages by chat and id, the deleted ones, and the files Telegram holds."""

    def __init__(self) -> None:
        self._messages: dict[tuple[Any, int], StoredMessage] = {}
        self._deleted: set[tuple[Any, int]] = set()
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._refused_urls: dict[str, str] = {}

    def forget(self) -> None:
        """Drop the messages and files kept for later use."""
        self._messages.clear()
        self._deleted.clear()
        self._files.clear()

    def refuse_photo_url(self, url: str, description: str = WRONG_FILE) -> None:
        """Make Telegram refuse to fetch this photo URL (it caches such failures for days)."""
        self._refused_urls[url] = description

    def get(self, chat_id: Any, message_id: int) -> StoredMessage:
        return self._messages[(chat_id, message_id)]

    def file_bytes(self, path: str) -> bytes | None:
        """Bytes of a file Telegram holds, by its `file_path`; None when it cannot be fetched."""
        for stored in self._files.values():
            if stored.path == path:
                return stored.data
        return None

    # sending ----------------------------------------------------------------------

    def new_message(
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

    def photo(self, value: Any, files: dict[str, bytes]) -> tuple[list[JsonDict], str]:
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

    def document(self, value: Any, files: dict[str, bytes], names: dict[str, str]) -> JsonDict:
        """The Document Telegram makes of an upload (``attach://``) or a file_id it holds."""
        if not isinstance(value, str) or not value:
            raise bad_request(NO_DOCUMENT)
        if value.startswith("attach://"):
            field_name = value.removeprefix("attach://")
            data = files.get(field_name)
            if data is None:
                raise bad_request(NO_DOCUMENT)
            if not data:
                raise bad_request(EMPTY_FILE)
            if len(data) > DOCUMENT_UPLOAD_LIMIT:
                raise BotApiRefusal(413, TOO_LARGE)
            digest = hashlib.sha1(data).hexdigest()[:16]
            file_id = f"BQACup{digest}"
            if file_id not in self._files:
                path = f"documents/file_{next(self._file_numbers)}"
                self._files[file_id] = StoredFile(file_id, path, data)
            return {
                "file_id": file_id,
                "file_unique_id": digest[:12],
                "file_name": names.get(field_name, "file"),
                "file_size": len(data),
            }
        stored = self._files.get(value)
        if stored is None:
            raise bad_request(WRONG_FILE)
        document: JsonDict = {"file_id": value, "file_unique_id": value[-12:]}
        if stored.data is not None:
            document["file_size"] = len(stored.data)
        return document

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

    # editing ----------------------------------------------------------------------

    def edit(
        self,
        params: JsonDict,
        *,
        content: ParsedText | None,
        has_photo: bool,
        wrong_kind: str | None,
        photo: tuple[list[JsonDict], str] | None = None,
    ) -> StoredMessage | None:
        """Apply an edit as Telegram does; an edit without `reply_markup` removes the keyboard.

        None for an inline message's edit (Telegram answers those with ``True``).
        """
        check_reply_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return None
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
        return edited

    def delete(self, params: JsonDict) -> None:
        key = _message_key(params)
        if key in self._deleted:
            raise bad_request("Bad Request: message to delete not found")
        self._messages.pop(key, None)
        self._deleted.add(key)

    def get_file(self, params: JsonDict) -> JsonDict:
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


def message_dict(message: StoredMessage, sender: JsonDict) -> JsonDict:
    """A stored message as the Bot API answers it, sent by ``sender`` (the bot)."""
    body: JsonDict = {
        "message_id": message.message_id,
        "date": int(wall_time()),
        "chat": message.chat,
        "from": sender,
    }
    text_key, entities_key = (
        ("caption", "caption_entities") if message.has_photo else ("text", "entities")
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


def _message_key(params: JsonDict) -> tuple[Any, int]:
    return params.get("chat_id"), int(params.get("message_id", 0))
