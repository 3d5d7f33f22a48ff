"""Putting a card on Telegram, whatever Telegram thinks of the photo.

Telegram fetches photo URLs itself and caches a refusal for days, so a
refused URL is downloaded here and uploaded as bytes (≤ 10 MB); the returned
``file_id`` is remembered so the bytes are uploaded once: in the store for
every replica, and in memory for the ones this process has used. The store is
asked only after Telegram refuses a URL, so an ordinary card waits for no
look-up. When the upload fails too, the card goes out as text; in a chat that forbids
the bot photos (``bot.telegram.chat_rights``), at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypedDict, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InputFile, InputMediaPhoto, Message
from cachetools import LRUCache, TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.cards.photo_download import PhotoDownloader
from bot.cards.rendering import CardView
from bot.telegram.chat_rights import ChatRights, forbids_photos

log = logging.getLogger(__name__)

FILE_ID_TTL = 7 * 24 * 3600
FILE_IDS_KEPT = 4096
UNUSABLE_FOR = 600.0
T = TypeVar("T")
_PHOTO_REFUSALS = (
    "wrong file identifier",
    "failed to get http url content",
    "wrong type of the web page content",
    "photo_invalid_dimensions",
    "image_process_failed",
    "wrong remote file",
    "file must be non-empty",
)


def is_photo_refusal(error: TelegramBadRequest) -> bool:
    message = error.message.lower()
    return any(reason in message for reason in _PHOTO_REFUSALS)


def is_not_modified(error: TelegramBadRequest) -> bool:
    return "message is not modified" in error.message.lower()


@dataclass(frozen=True)
class Destination:
    """Where a new card goes: the chat, the message it answers, and the forum topic
    (so a card whose message was deleted meanwhile still lands in the topic)."""

    chat_id: int
    reply_to: int | None = None
    thread_id: int | None = None


@dataclass(frozen=True)
class InlineMessage:
    """A card a user sent through inline mode: no chat, edited by its own id;
    ``has_photo``: it went out as a photo (Telegram does not say so in a tap)."""

    inline_message_id: str
    has_photo: bool


class _Where(TypedDict, total=False):
    chat_id: int
    message_id: int
    inline_message_id: str


def _where(message: Message | InlineMessage) -> _Where:
    if isinstance(message, InlineMessage):
        return {"inline_message_id": message.inline_message_id}
    return {"chat_id": message.chat.id, "message_id": message.message_id}


class CardSender:
    """Sends and edits cards, falling back from URL to uploaded bytes to text."""

    def __init__(self, bot: Bot, photos: PhotoDownloader, store: Redis, rights: ChatRights) -> None:
        self._bot = bot
        self._photos = photos
        self._rights = rights
        self._store = store
        self._file_ids: LRUCache[str, str] = LRUCache(FILE_IDS_KEPT)  # photo URL -> file_id
        # Photos refused by URL and as bytes (or not downloadable): text for a while.
        self._unusable: TTLCache[str, bool] = TTLCache(FILE_IDS_KEPT, ttl=UNUSABLE_FOR)

    async def send(self, to: Destination, view: CardView) -> Message:
        """Send a new card: with its photo, else as text (a chat that forbids media
        gets text at once)."""
        if view.photo and self.usable(view.photo) and self._rights.may_send_photos(to.chat_id):
            try:
                return await self._by_reference(
                    view.photo, lambda photo: self._send_photo(to, photo, view)
                )
            except TelegramBadRequest as error:
                if forbids_photos(error):
                    self._rights.learn(to.chat_id, error)
                elif not is_photo_refusal(error):
                    raise
                elif (uploaded := await self._upload(to, view)) is not None:
                    return uploaded
        return await self._bot.send_message(
            to.chat_id,
            text=view.caption,
            reply_markup=view.keyboard,
            message_thread_id=to.thread_id,
            reply_to_message_id=to.reply_to,
            allow_sending_without_reply=True,
            disable_web_page_preview=True,
        )

    async def _send_photo(self, to: Destination, photo: str | InputFile, view: CardView) -> Message:
        return await self._bot.send_photo(
            to.chat_id,
            photo=photo,
            caption=view.caption,
            reply_markup=view.keyboard,
            message_thread_id=to.thread_id,
            reply_to_message_id=to.reply_to,
            allow_sending_without_reply=True,
        )

    async def edit(
        self, message: Message | InlineMessage, view: CardView, *, photo_changed: bool
    ) -> None:
        """Edit ``message`` in place; "not modified" counts as done."""
        where = _where(message)
        has_photo = message.has_photo if isinstance(message, InlineMessage) else bool(message.photo)
        try:
            if has_photo and view.photo and photo_changed:
                await self._edit_media(where, view, upload=not isinstance(message, InlineMessage))
            elif has_photo:
                await self._bot.edit_message_caption(
                    **where, caption=view.caption, reply_markup=view.keyboard
                )
            else:
                await self._bot.edit_message_text(
                    **where,
                    text=view.caption,
                    reply_markup=view.keyboard,
                    disable_web_page_preview=True,
                )
        except TelegramBadRequest as error:
            if not is_not_modified(error):
                raise

    async def _edit_media(self, where: _Where, view: CardView, *, upload: bool) -> None:
        """Swap the photo; refused by URL, the bytes (not for inline messages, which
        take no uploads), else keep the old photo and update the rest."""
        assert view.photo is not None
        try:
            await self._by_reference(
                view.photo,
                lambda photo: self._bot.edit_message_media(
                    **where,
                    media=InputMediaPhoto(media=photo, caption=view.caption),
                    reply_markup=view.keyboard,
                ),
            )
        except TelegramBadRequest as error:
            if not is_photo_refusal(error):
                raise
            usable = upload and self.usable(view.photo)
            data = await self._photos.fetch(view.photo) if usable else None
            if data is None:
                self._unusable[view.photo] = True
            else:
                try:
                    edited = await self._bot.edit_message_media(
                        **where,
                        media=InputMediaPhoto(
                            media=BufferedInputFile(data, filename="photo.jpg"),
                            caption=view.caption,
                        ),
                        reply_markup=view.keyboard,
                    )
                except TelegramBadRequest as upload_error:
                    log.info("uploaded photo refused too: %s", upload_error.message)
                    self._unusable[view.photo] = True
                else:
                    if isinstance(edited, Message):
                        await self._remember(view.photo, edited)
                    return
            # Keep the old photo, update the rest: the gallery and the choice move on.
            await self._bot.edit_message_caption(
                **where, caption=view.caption, reply_markup=view.keyboard
            )

    def usable(self, url: str) -> bool:
        """False for a photo refused by URL and as bytes lately: text for a while."""
        return url not in self._unusable

    def known_file_id(self, url: str) -> str | None:
        """The file_id this process got for the photo at ``url``, if any."""
        return self._file_ids.get(url)

    async def _upload(self, to: Destination, view: CardView) -> Message | None:
        assert view.photo is not None
        data = await self._photos.fetch(view.photo)
        if data is None:
            self._unusable[view.photo] = True
            return None
        try:
            sent = await self._send_photo(to, BufferedInputFile(data, filename="photo.jpg"), view)
        except TelegramBadRequest as error:
            log.info("uploaded photo refused too: %s", error.message)
            self._unusable[view.photo] = True
            return None
        await self._remember(view.photo, sent)
        return sent

    async def _by_reference(self, url: str, put: Callable[[str], Awaitable[T]]) -> T:
        """``put`` the photo by the file_id this process knows, else by its URL, else by
        the file_id another process stored; Telegram's refusal when none is taken."""
        file_id = self._file_ids.get(url)
        if file_id is None:
            try:
                return await put(url)
            except TelegramBadRequest as error:
                if not is_photo_refusal(error):
                    raise
                file_id = await self._stored_file_id(url)
                if file_id is None:
                    raise
                self._file_ids[url] = file_id
        return await put(file_id)

    async def _stored_file_id(self, url: str) -> str | None:
        try:
            stored = await self._store.get(f"fid:{url}")
        except RedisError:
            return None
        return stored.decode() if isinstance(stored, bytes) else None

    async def _remember(self, url: str, message: Message) -> None:
        if not message.photo:
            return
        file_id = message.photo[-1].file_id
        self._file_ids[url] = file_id
        try:
            await self._store.set(f"fid:{url}", file_id, ex=FILE_ID_TTL)
        except RedisError:
            log.warning("could not remember an uploaded photo's file_id")
