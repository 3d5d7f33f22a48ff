"""Inline mode: ``@bot <link>`` in any chat answers with the product card.

Every query is answered within ``ANSWER_WITHIN`` seconds, whatever the
upstream does: with the full card when the item is cached or arrives in time,
else with the free link card, while the look-up goes on and fills the cache
for the next query. Keystrokes are not look-ups: only a query holding a whole
item link starts one, and only once the user has stopped typing for
``SETTLE`` seconds (a newer query from the same user, on any replica, takes
its place); identical look-ups coalesce in the look-up service. A cached item
is answered at once. The user pays from their own quota, as for a paste.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from aiogram.utils.i18n import gettext as _
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.cards.buy_links import buy_options
from bot.cards.free_card import free_card, is_free
from bot.cards.opening import first_state
from bot.cards.prices import CardPricing
from bot.cards.refusals import refusal_text
from bot.cards.rendering import CardView, plain_text, render_card
from bot.cards.sending import CardSender, InlineMessage
from bot.cards.state import CardState, CardStore, new_token
from bot.config import Settings
from bot.items.item import ItemRef
from bot.links.agent_prefs import AgentPrefs
from bot.lookup.results import Failure, Found, LookupResult, Refused
from bot.lookup.service import LookupService
from bot.money.choices import Holder
from bot.ops.background import Background

log = logging.getLogger(__name__)

# Telegram shows "loading" and gives up on an answer after about ten seconds;
# the shopper should not wait half of that.
ANSWER_WITHIN = 4.5
# A complete link typed key by key (…?id=12, …?id=123) is a new item at every
# key: only the one the user stops at is looked up.
SETTLE = 0.4
# Telegram keeps an answer for the same query this long; a short time, so a
# free link card is replaced by the full card soon.
FULL_CARD_CACHE_SECONDS = 30
FREE_CARD_CACHE_SECONDS = 0
HINT_CACHE_SECONDS = 300
TITLE_LIMIT = 64
DESCRIPTION_LIMIT = 120
_LATEST_TTL = 10


class InlineKind:
    """How an inline card went out, stored beside its state for the taps."""

    PHOTO = "p"
    TEXT = "t"


@dataclass(frozen=True)
class Forged:
    """A tap whose card data belong to another card than the one it was made on."""


@dataclass(frozen=True)
class InlineAsk:
    """One inline query as the service needs it: who, in which language, what."""

    query_id: str
    user_id: int
    lang: str
    ref: ItemRef


@dataclass(frozen=True)
class InlineAnswer:
    """The one result to answer with, how long Telegram may keep it, the
    plain-text fallback for when Telegram refuses the photo result, and the
    card (``token``, ``state``) to keep for the taps on the message it becomes."""

    result: InlineQueryResultUnion
    fallback: InlineQueryResultUnion | None
    cache_time: int
    token: str | None = None
    state: CardState | None = None


class InlineCards:
    """Answers inline queries: the card for an item link, a hint for anything else."""

    def __init__(
        self,
        bot: Bot,
        lookup: LookupService,
        cards: CardStore,
        sender: CardSender,
        store: Redis,
        settings: Settings,
        agents: AgentPrefs,
        pricing: CardPricing | None = None,
    ) -> None:
        self._pricing = pricing
        self._bot = bot
        self._agents = agents
        self._buy = buy_options(settings)
        self._lookup = lookup
        self._cards = cards
        self._sender = sender
        self._store = store
        self._settings = settings
        self._background = Background()

    async def hint(self, query_id: str) -> None:
        """A query with no item link: no result, a button into the private chat. Free."""
        button = InlineQueryResultsButton(
            text=_("Paste a Taobao, Tmall, 1688, Weidian or Goofish link"),
            start_parameter="inline",
        )
        await self._answer(query_id, [], cache_time=HINT_CACHE_SECONDS, button=button)

    async def respond(self, ask: InlineAsk) -> None:
        """Answer ``ask`` with its card; nothing when a newer query replaced it."""
        answer = await self.answer(ask)
        if answer is None:
            return
        # Kept while Telegram takes the answer: a tap comes only once a user sent it.
        kind = InlineKind.PHOTO if answer.fallback is not None else InlineKind.TEXT
        keeping = asyncio.ensure_future(self._keep(answer, kind))
        try:
            taken = await self._answer(ask.query_id, [answer.result], cache_time=answer.cache_time)
            if not taken and answer.fallback is not None:  # Telegram could not use the photo
                await self._answer(ask.query_id, [answer.fallback], cache_time=answer.cache_time)
                await keeping
                keeping = asyncio.ensure_future(self._keep(answer, InlineKind.TEXT, state=False))
        finally:
            await keeping

    async def _keep(self, answer: InlineAnswer, kind: str, *, state: bool = True) -> None:
        """Store the card's state (``state``) and how it went out, for its taps."""
        if answer.token is None or answer.state is None:
            return
        try:
            if state:
                await self._cards.save(answer.token, answer.state)
            await self._store.set(f"inl:k:{answer.token}", kind, ex=self._cards.ttl_seconds)
        except RedisError:  # the card still goes out; its taps will say "expired"
            log.warning("store unreachable: inline card answered without picker state")

    async def _answer(
        self,
        query_id: str,
        results: list[InlineQueryResultUnion],
        *,
        cache_time: int,
        button: InlineQueryResultsButton | None = None,
    ) -> bool:
        """Whether Telegram took the answer; a query too old for it is only logged."""
        try:
            await self._bot.answer_inline_query(
                query_id, results, cache_time=cache_time, is_personal=True, button=button
            )
        except TelegramBadRequest as error:
            log.info("inline answer refused: %s", error.message)
            return "query is too old" in error.message.lower()
        return True

    async def answer(self, ask: InlineAsk) -> InlineAnswer | None:
        """The answer to ``ask``; None when a newer query of the user replaced it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_WITHIN
        lang = self._settings.searchlang(ask.lang)
        cached = await self._lookup.cached(ask.ref, lang)
        if cached is not None:
            return await self._result(ask, cached, await self._agent_of(ask))
        if not await self._settled(ask):
            return None
        looking_up = self._background.spawn(
            self._lookup.lookup(
                ask.ref,
                user_id=ask.user_id,
                chat_id=None,
                lang=lang,
                is_admin=self._settings.is_admin(ask.user_id),
            )
        )
        agent = await self._agent_of(ask)
        done, _ = await asyncio.wait({looking_up}, timeout=max(deadline - loop.time(), 0))
        if not done:  # it goes on and fills the cache for the next query
            return self._free(ask, Refused(Failure.TIMEOUT), agent)
        return await self._result(ask, looking_up.result(), agent)

    async def _result(
        self, ask: InlineAsk, result: LookupResult, agent: str | None
    ) -> InlineAnswer:
        if isinstance(result, Found):
            return await self._full(ask, result, agent)
        return self._free(ask, result, agent)

    async def _agent_of(self, ask: InlineAsk) -> str | None:
        """The user's own agent: inline cards go where the user sends them."""
        if not self._buy.agent_choice:
            return None
        try:
            return await self._agents.get(ask.user_id)
        except RedisError:
            return None

    async def tapped(self, inline_message_id: str, token: str) -> InlineMessage | Forged | None:
        """The inline message a tap came from, when it shows card ``token``.

        Telegram does not show the bot an inline message's buttons, so the
        first tap binds the message to the card it carries, and a tap that
        brings another card's data later is ``Forged``. None: the card is
        unknown (expired, or not sent through inline mode); the tap then says
        the card has expired.
        """
        ttl = self._cards.ttl_seconds
        async with self._store.pipeline(transaction=False) as pipe:
            pipe.set(f"inl:m:{inline_message_id}", token, nx=True, ex=ttl)
            pipe.get(f"inl:m:{inline_message_id}")
            pipe.get(f"inl:k:{token}")
            _, bound, kind = await pipe.execute()
        if bound is not None and _text(bound) != token:
            return Forged()
        if kind is None:
            return None
        return InlineMessage(inline_message_id, has_photo=_text(kind) == InlineKind.PHOTO)

    async def aclose(self) -> None:
        """At shutdown: let look-ups under way finish, so what was paid for is cached."""
        await self._background.wait(self._settings.catbuy_timeout_seconds)

    async def _settled(self, ask: InlineAsk) -> bool:
        """Whether ``ask`` is still the user's latest query after ``SETTLE`` seconds.

        The latest query id is kept in the store, so a query on another
        replica supersedes this one too. Without the store, the look-up goes
        ahead: the look-up service refuses it when the store is needed.
        """
        key = f"inl:u:{ask.user_id}"
        try:
            await self._store.set(key, ask.query_id, ex=_LATEST_TTL)
            await asyncio.sleep(SETTLE)
            latest = await self._store.get(key)
        except RedisError:
            return True
        return latest is None or _text(latest) == ask.query_id

    async def _full(self, ask: InlineAsk, found: Found, agent: str | None) -> InlineAnswer:
        currency = None
        if self._pricing is not None:  # the user's own: inline cards go where they send them
            currency = await self._pricing.choices.currency(Holder("u", ask.user_id), ask.lang)
        state, picker = first_state(ask.ref, found.item, ask.lang, agent, currency)
        token = new_token()
        view = render_card(
            state,
            token,
            buy_url_template=self._settings.buy_url_template,
            picker=picker,
            buy=self._buy,
            pricing=self._pricing,
        )
        photo = self._photo_result(view, found)
        text = _article(view, found.item.title)
        if photo is None:
            return InlineAnswer(text, None, FULL_CARD_CACHE_SECONDS, token, state)
        return InlineAnswer(photo, text, FULL_CARD_CACHE_SECONDS, token, state)

    def _photo_result(self, view: CardView, found: Found) -> InlineQueryResultUnion | None:
        if view.photo is None or not self._sender.usable(view.photo):
            return None
        file_id = self._sender.known_file_id(view.photo)
        if file_id is not None:
            return InlineQueryResultCachedPhoto(
                id=new_token(),
                photo_file_id=file_id,
                title=_cut(found.item.title, TITLE_LIMIT),
                caption=view.caption,
                reply_markup=view.keyboard,
            )
        return InlineQueryResultPhoto(
            id=new_token(),
            photo_url=view.photo,
            thumbnail_url=view.photo,
            title=_cut(found.item.title, TITLE_LIMIT),
            caption=view.caption,
            reply_markup=view.keyboard,
        )

    def _free(self, ask: InlineAsk, refused: Refused, agent: str | None) -> InlineAnswer:
        """The free link card: the item's links, and why its details are missing."""
        own_line = refused.kind is Failure.TIMEOUT or is_free(refused)
        card = free_card(
            ask.ref,
            refused,
            agent=agent,
            buy=self._buy,
            lang=ask.lang,
            breaker_cooldown=self._settings.breaker_cooldown_seconds,
            reason=None if own_line else refusal_text(refused, ask.ref),
        )
        view = CardView(photo=None, caption=card.text, keyboard=card.keyboard)
        title = plain_text(card.text.split("\n", 1)[0]).lstrip("🔗 ")
        return InlineAnswer(_article(view, title), None, FREE_CARD_CACHE_SECONDS)


def _article(view: CardView, title: str) -> InlineQueryResultArticle:
    keyboard: InlineKeyboardMarkup | None = view.keyboard if view.keyboard.inline_keyboard else None
    return InlineQueryResultArticle(
        id=new_token(),
        title=_cut(plain_text(title), TITLE_LIMIT) or "·",
        description=_cut(plain_text(view.caption), DESCRIPTION_LIMIT),
        thumbnail_url=view.photo,
        input_message_content=InputTextMessageContent(
            message_text=view.caption,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=keyboard,
    )


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
