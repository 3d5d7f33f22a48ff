"""Opening a card: a found item becomes a new card message, its state stored for its taps."""

from __future__ import annotations

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError
from redis.exceptions import RedisError

from bot.cards.picker import VariantPicker
from bot.cards.picker_view import page_of
from bot.cards.rendering import MAX_BUTTONS, OWN_BUTTONS, VARIANT_PHOTO, CardView, render_card
from bot.cards.sending import CardSender, Destination
from bot.cards.state import CardState, CardStore, new_token
from bot.items.item import Item, ItemRef
from bot.telegram.chat_rights import ChatRights

log = logging.getLogger(__name__)


class CardOpener:
    """Sends a new card for an item, with the variant a link named already chosen."""

    def __init__(
        self, cards: CardStore, sender: CardSender, rights: ChatRights, buy_url: str | None
    ) -> None:
        self._cards = cards
        self._sender = sender
        self._rights = rights
        self._buy_url = buy_url

    async def open(self, to: Destination, ref: ItemRef, item: Item, lang: str) -> None:
        """Send the card of ``item`` (pasted as ``ref``) in ``lang``; a card Telegram
        refuses is logged (and what it says of the chat's rights learnt)."""
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
        )
        token = new_token()
        view = render_card(state, token, buy_url_template=self._buy_url, picker=picker)
        # Saved while Telegram takes the card: a tap can only come once it has arrived.
        saving = asyncio.ensure_future(self._save(token, state))
        await self._send(to, view)
        await saving

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
