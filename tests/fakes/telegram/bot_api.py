"""The Bot API's behaviour: the plausible result for each method, and its refusals.

`FakeTelegram` is the one place that knows how the Bot API answers; both the
recording session and the HTTP fake Bot API use it, so they cannot disagree.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from aiogram.types import Update

from tests.fakes.telegram.calls import SentCall
from tests.fakes.telegram.flood import FloodLimits
from tests.fakes.telegram.inline import InlineMode
from tests.fakes.telegram.keyboards import check_reply_markup
from tests.fakes.telegram.limits import (
    BAD_GATEWAY_PAGE,
    EDIT_METHODS,
    MEDIA_GROUP_INVALID,
    MEDIA_GROUP_SIZES,
    METHOD_NOT_FOUND,
    MIGRATED,
    NO_CAPTION_TO_EDIT,
    NO_MEDIA_TO_EDIT,
    NO_TEXT_TO_EDIT,
    QUERY_TOO_OLD,
    SEND_METHODS,
    TRUE_METHODS,
    WRONG_FILE,
    BotApiRefusal,
    JsonDict,
    bad_request,
)
from tests.fakes.telegram.members import ChatMembers
from tests.fakes.telegram.message_store import MessageStore, StoredMessage, message_dict
from tests.fakes.telegram.text import ParsedText, checked_caption, checked_text
from tests.fakes.telegram.updates import callback_update, update_to_dict


class FakeTelegram:
    """The Bot API's behaviour, shared by `RecordingSession` and `FakeBotApi`.

    Test knobs: `refuse_photo_url`, `fail_next`, `flood_after`, `push_update`,
    `set_member`.
    Every call is recorded in `sent`; `wait_for` awaits one.
    """

    def __init__(self, bot_id: int = 42) -> None:
        self.bot_id = bot_id
        self.sent: list[SentCall] = []
        self._store = MessageStore()
        self._flood = FloodLimits()
        self._answered_queries: set[Any] = set()
        self._failures: dict[str, deque[BotApiRefusal]] = {}
        self._migrated: dict[Any, int] = {}
        self._updates: list[JsonDict] = []
        self._update_ids = itertools.count(1)
        self._returned: set[int] = set()
        self._upload_names: dict[str, str] = {}
        self.inline = InlineMode()
        self._members = ChatMembers()

    def forget(self) -> None:
        """Drop the record of sent calls, and the messages and files kept for later use."""
        self.sent.clear()
        self._store.forget()
        self._answered_queries.clear()

    # knobs ------------------------------------------------------------------------

    def refuse_photo_url(self, url: str, description: str = WRONG_FILE) -> None:
        """Make Telegram refuse to fetch this photo URL (it caches such failures for days)."""
        self._store.refuse_photo_url(url, description)

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

    def fail_next_with_page(
        self, method: str, times: int = 1, status: int = 502, page: str = BAD_GATEWAY_PAGE
    ) -> None:
        """Answer the next `times` calls of `method` with an HTML error page, as a proxy
        in front of the Bot API does when the server behind it is down."""
        for _ in range(times):
            failure = BotApiRefusal(status, "Bad Gateway", page=page)
            self._failures.setdefault(method, deque()).append(failure)

    def flood_after(self, n_per_minute: int, chat_id: int | str | None = None) -> None:
        """Answer 429 once a chat (every chat when `chat_id` is None) got n messages in 60 s."""
        self._flood.limit(n_per_minute, chat_id)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What `getChatMember` says of a user in a chat ("member" unless set)."""
        self._members.set(chat_id, user_id, status)

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
        message = self._message_dict(self._store.get(chat_id, message_id))
        return callback_update(data, user_id=user_id, language_code=language_code, message=message)

    def message(self, chat_id: int | str, message_id: int) -> StoredMessage:
        """The bot's message as Telegram holds it now (``media_key``: the photo it shows)."""
        return self._store.get(chat_id, message_id)

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

        ``file_names``: the uploads' names by field, as the multipart body gave them."""
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
            call.page = refusal.page
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
            self._flood.check(params.get("chat_id"))
        handlers: dict[str, Callable[[JsonDict, dict[str, bytes]], Any]] = {
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_text,
            "editMessageCaption": self._edit_caption,
            "editMessageMedia": self._edit_media,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "answerInlineQuery": lambda p, _f: self.inline.answer(p),
            "deleteMessage": self._delete_message,
            "getFile": lambda p, _: self._store.get_file(p),
            "getChatMember": lambda p, _: self._members.get(p),
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
        return self._store.file_bytes(path)

    def _check_migrated(self, chat_id: Any) -> None:
        moved_to = self._migrated.get(chat_id)
        if moved_to is not None:
            raise BotApiRefusal(400, MIGRATED, migrate_to_chat_id=moved_to)

    def _message_dict(self, message: StoredMessage) -> JsonDict:
        return message_dict(message, self.bot_user())

    # sending ----------------------------------------------------------------------

    def _send_message(self, params: JsonDict, _files: dict[str, bytes]) -> JsonDict:
        content = checked_text(params, "text", "entities")
        check_reply_markup(params.get("reply_markup"))
        message = self._store.new_message(params, has_photo=False, content=content)
        return self._message_dict(message)

    def _send_photo(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        photo, media_key = self._store.photo(params.get("photo"), files)
        content = checked_caption(params.get("caption"), params.get("parse_mode"), params)
        check_reply_markup(params.get("reply_markup"))
        message = self._store.new_message(params, has_photo=True, content=content)
        message.photo, message.media_key = photo, media_key
        return self._message_dict(message)

    def _send_document(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        document = self._store.document(params.get("document"), files, self._upload_names)
        content = checked_caption(params.get("caption"), params.get("parse_mode"), params)
        check_reply_markup(params.get("reply_markup"))
        # A document carries a caption as a photo does.
        message = self._store.new_message(params, has_photo=True, content=content)
        message.document = document
        return self._message_dict(message)

    def _send_media_group(self, params: JsonDict, files: dict[str, bytes]) -> list[JsonDict]:
        media = params.get("media")
        if not isinstance(media, list) or len(media) not in MEDIA_GROUP_SIZES:
            raise bad_request(MEDIA_GROUP_INVALID)
        prepared = []
        for item in media:
            photo, media_key = self._store.photo(item.get("media"), files)
            content = checked_caption(item.get("caption"), item.get("parse_mode"), item)
            prepared.append((photo, media_key, content))
        messages = []
        for photo, media_key, content in prepared:
            message = self._store.new_message(params, has_photo=True, content=content)
            message.photo, message.media_key = photo, media_key
            messages.append(self._message_dict(message))
        return messages

    # editing ----------------------------------------------------------------------

    def _edit(
        self,
        params: JsonDict,
        *,
        content: ParsedText | None,
        has_photo: bool,
        wrong_kind: str | None,
        photo: tuple[list[JsonDict], str] | None = None,
        media: Any = None,
    ) -> Any:
        if "inline_message_id" in params:
            reference = None if media is None else str(media)
            return self.inline.edit(
                params,
                content=content,
                has_photo=has_photo,
                wrong_kind=wrong_kind,
                photo=reference,
                uploaded=reference is not None and reference.startswith("attach://"),
            )
        edited = self._store.edit(
            params, content=content, has_photo=has_photo, wrong_kind=wrong_kind, photo=photo
        )
        return True if edited is None else self._message_dict(edited)

    def _edit_text(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        content = checked_text(params, "text", "entities")
        return self._edit(params, content=content, has_photo=False, wrong_kind=NO_TEXT_TO_EDIT)

    def _edit_caption(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        content = checked_caption(params.get("caption"), params.get("parse_mode"), params)
        return self._edit(params, content=content, has_photo=True, wrong_kind=NO_CAPTION_TO_EDIT)

    def _edit_media(self, params: JsonDict, files: dict[str, bytes]) -> Any:
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("Bad Request: can't parse InputMedia JSON object")
        content = checked_caption(media.get("caption"), media.get("parse_mode"), media)
        if "inline_message_id" in params:  # checked there: no uploads, no photo sizes
            return self._edit(
                params,
                content=content,
                has_photo=True,
                wrong_kind=NO_MEDIA_TO_EDIT,
                media=media.get("media"),
            )
        photo = self._store.photo(media.get("media"), files)
        return self._edit(
            params, content=content, has_photo=True, wrong_kind=NO_MEDIA_TO_EDIT, photo=photo
        )

    def _edit_reply_markup(self, params: JsonDict, _files: dict[str, bytes]) -> Any:
        return self._edit(params, content=None, has_photo=True, wrong_kind=None)

    def _delete_message(self, params: JsonDict, _files: dict[str, bytes]) -> bool:
        self._store.delete(params)
        return True


def _method_is(name: str) -> Callable[[SentCall], bool]:
    return lambda call: call.method == name
