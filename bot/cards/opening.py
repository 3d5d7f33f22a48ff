"""Opening a card: a found item becomes a new card message, its state stored for its
taps; a refused one becomes its free link card."""

from __future__ import annotations

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError
from redis.exceptions import RedisError

from bot.cards.buy_links import BuyOptions
from bot.cards.free_card import free_card
from bot.cards.picker import VariantPicker
from bot.cards.picker_view import page_of
from bot.cards.rendering import MAX_BUTTONS, OWN_BUTTONS, VARIANT_PHOTO, CardView, render_card
from bot.cards.sending import CardSender, Destination
from bot.cards.state import CardState, CardStore, new_token
from bot.items.item import Item, ItemRef
from bot.lookup.results import Refused
from bot.telegram.chat_rights import ChatRights

log = logging.getLogger(__name__)


def first_state(
    ref: ItemRef, item: Item, lang: str, agent: str | None = None
) -> tuple[CardState, VariantPicker]:
    """A new card's state, with the variant the link named chosen, and the item's
    picker (built once); ``agent``: the shopping agent chosen where it goes."""
    picker = VariantPicker(item)
    choice = picker.empty_choice()
    if ref.sku_id:
        choice = picker.choice_for_sku(ref.sku_id) or choice
    state = CardState(
        item=item,
        lang=lang,
        choice=choice,
        pages=page_of(picker, choice, max_buttons=MAX_BUTTONS - OWN_BUTTONS),
        photo=VARIANT_PHOTO if picker.summary(choice).image else 0,
        source_url=ref.canonical_url,
        agent=agent,
    )
    return state, picker


class CardOpener:
    """Sends a new card for an item, with the variant a link named already chosen,
    or the free link card of an item whose look-up was refused."""

    def __init__(
        self,
        cards: CardStore,
        sender: CardSender,
        rights: ChatRights,
        buy: BuyOptions,
        *,
        breaker_cooldown: int,
    ) -> None:
        self._cards = cards
        self._sender = sender
        self._rights = rights
        self._buy = buy
        self._breaker_cooldown = breaker_cooldown

    async def open(
        self, to: Destination, ref: ItemRef, item: Item, lang: str, agent: str | None
    ) -> None:
        """Send the card of ``item`` (pasted as ``ref``) in ``lang``; a card Telegram
        refuses is logged (and what it says of the chat's rights learnt)."""
        state, picker = first_state(ref, item, lang, agent)
        token = new_token()
        view = render_card(
            state, token, buy_url_template=self._buy.template, picker=picker, buy=self._buy
        )
        # Saved while Telegram takes the card: a tap can only come once it has arrived.
        saving = asyncio.ensure_future(self._save(token, state))
        await self._send(to, view)
        await saving

    async def open_free(
        self, to: Destination, ref: ItemRef, refused: Refused, lang: str, agent: str | None
    ) -> None:
        """The item's links without its details: no upstream call was made."""
        card = free_card(
            ref,
            refused,
            agent=agent,
            buy=self._buy,
            lang=lang,
            breaker_cooldown=self._breaker_cooldown,
        )
        await self._send(to, CardView(photo=None, caption=card.text, keyboard=card.keyboard))

    async def _save(self, token: str, state: CardState) -> None:
        try:
            saved = await self._cards.save(token, state)
        except RedisError:  # the card still goes out; its taps will say "expired"
            log.warning("store unreachable: card sent without picker state")
            return
        if not saved:
            log.error("card token collided (72 random bits): its taps reach the older card")

    async def _send(self, to: Destination, view: CardView) -> None:
        try:
            await self._sender.send(to, view)
        except TelegramAPIError as error:
            self._rights.learn(to.chat_id, error)
            log.warning("card not sent: %s", error.message)
