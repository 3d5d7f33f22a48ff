"""What a tap on a card does: validate against server-side state, change it, redraw.

Taps never call the upstream. Callback data are not signed, so every value is
checked against the card's stored state; anything that does not fit is
answered and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from cachetools import LRUCache
from redis.exceptions import RedisError

from bot.cards.buy_links import BuyOptions
from bot.cards.picker import VariantPicker
from bot.cards.picker_view import page_sizes
from bot.cards.rendering import MAX_BUTTONS, OWN_BUTTONS, VARIANT_PHOTO, card_photo, render_card
from bot.cards.sending import CardSender, InlineMessage
from bot.cards.state import CardBusy, CardState, CardStore
from bot.items.item import Item
from bot.telegram.callbacks import CardAct, CardTap

log = logging.getLogger(__name__)

# A tap redraws its card at most this often: each redraw after the first
# catches up with a tap that another replica stored meanwhile.
MAX_REDRAWS = 3
PICKERS_KEPT = 16


class TapNote(StrEnum):
    """The short answer a tap gets (shown as a toast), besides any redraw."""

    NONE = "none"
    OUT_OF_STOCK = "out_of_stock"
    INVALID = "invalid"


@dataclass(frozen=True)
class TapResult:
    """The new state (None: nothing to redraw) and the note for the tapper."""

    state: CardState | None
    note: TapNote = TapNote.NONE


def apply_tap(state: CardState, tap: CardTap, picker: VariantPicker | None = None) -> TapResult:
    """The card after ``tap``; pure, so it can be retried under contention.

    ``picker``: the picker of ``state.item``, when the caller has it already.
    """
    picker = picker or VariantPicker(state.item)
    if not picker.validate(state.choice):
        return TapResult(None, TapNote.INVALID)
    match tap.act:
        case CardAct.OPTION:
            return _toggle(state, picker, tap.dim, tap.opt)
        case CardAct.PAGE:
            return _page(state, picker, tap.dim, tap.opt)
        case CardAct.GALLERY:
            if not 0 <= tap.opt < len(state.item.images):
                return TapResult(None, TapNote.INVALID)
            return TapResult(state.model_copy(update={"photo": tap.opt}))
        case CardAct.AGENTS:
            if tap.opt not in (0, 1):
                return TapResult(None, TapNote.INVALID)
            if bool(tap.opt) == state.others:
                return TapResult(None)
            return TapResult(state.model_copy(update={"others": bool(tap.opt)}))
        case CardAct.RESET:
            choice = picker.empty_choice()
            photo = 0 if state.photo == VARIANT_PHOTO else state.photo
            return TapResult(state.model_copy(update={"choice": choice, "photo": photo}))
        case _:
            return TapResult(None)


def _toggle(state: CardState, picker: VariantPicker, dim: int, opt: int) -> TapResult:
    if not (0 <= dim < len(picker.dimensions) and 0 <= opt < len(picker.dimensions[dim].options)):
        return TapResult(None, TapNote.INVALID)
    if not picker.can_toggle(state.choice, dim, opt):
        return TapResult(None, TapNote.OUT_OF_STOCK)
    choice = picker.toggle(state.choice, dim, opt)
    has_image = picker.summary(choice).image is not None
    photo = VARIANT_PHOTO if has_image else (0 if state.photo == VARIANT_PHOTO else state.photo)
    return TapResult(state.model_copy(update={"choice": choice, "photo": photo}))


def _page(state: CardState, picker: VariantPicker, dim: int, page: int) -> TapResult:
    sizes = page_sizes(picker, max_buttons=MAX_BUTTONS - OWN_BUTTONS)
    if not 0 <= dim < len(sizes) or sizes[dim] == 0:
        return TapResult(None, TapNote.INVALID)
    count = -(-len(picker.dimensions[dim].options) // sizes[dim])
    if not 0 <= page < count:
        return TapResult(None, TapNote.INVALID)
    pages = list(state.pages) + [0] * (len(sizes) - len(state.pages))
    pages[dim] = page
    return TapResult(state.model_copy(update={"pages": tuple(pages[: len(sizes)])}))


@dataclass
class _Turns:
    """One card's taps in this process: their turns, and what the card shows.

    A tap changes the stored state in its turn at ``changing``, then redraws
    in its turn at ``drawing``, so a slow edit holds up only later redraws.
    ``taps`` counts the taps under way; ``shown`` is the state the card's
    message shows once the edits sent so far have landed.
    """

    changing: asyncio.Lock = field(default_factory=asyncio.Lock)
    drawing: asyncio.Lock = field(default_factory=asyncio.Lock)
    taps: int = 0
    shown: CardState | None = None


class CardTaps:
    """Applies taps to stored cards and redraws them in the card's own language.

    Taps on one card take turns in this process: each changes the stored state,
    is answered at once, then redraws the card with what is stored by then. So
    the last edit shows the last tap even when an earlier tap's answer is slow
    (edits that crossed on the network left the older choice showing), and a
    redraw that an earlier one already made is skipped. Across replicas, each
    redraw reads the stored state again once its edit has landed.
    """

    def __init__(
        self,
        cards: CardStore,
        sender: CardSender,
        i18n: I18n,
        buy_url: str | None,
        buy: BuyOptions | None = None,
    ):
        self._cards = cards
        self._sender = sender
        self._i18n = i18n
        self._buy_url = buy_url
        self._buy = buy or BuyOptions(template=buy_url)
        self._turns: dict[str, _Turns] = {}
        # Pickers of the items tapped lately, by the item object (held, so its id
        # stays its own): an item of 2,000 SKUs takes ~7 ms to build one for.
        self._pickers: LRUCache[int, tuple[Item, VariantPicker]] = LRUCache(PICKERS_KEPT)

    async def tap(
        self,
        message: Message | InlineMessage | None,
        tap: CardTap,
        answer: Callable[[str], Awaitable[object]],
    ) -> None:
        """Change the card, ``answer`` the tap at once (toast, "" for none), then redraw.

        ``message``: the chat message tapped, or the inline message (its card
        checked by the caller); None when Telegram no longer says which.
        """
        if isinstance(message, Message) and not _shows_card(message, tap.token):
            # Data of one card tapped on another message: a modified client.
            await answer(_toast(TapNote.INVALID))
            return
        turns = self._turns.setdefault(tap.token, _Turns())
        turns.taps += 1
        try:
            async with turns.changing:
                toast, redraw = await self._change(message, tap, turns)
            try:
                await answer(toast)
            except TelegramAPIError as error:  # "query is too old": the card still changes
                log.info("tap not answered: %s", error.message)
            if redraw and message is not None:
                async with turns.drawing:
                    await self._redraw(message, tap.token, turns)
        finally:
            turns.taps -= 1
            if not turns.taps:
                del self._turns[tap.token]

    async def _change(
        self, message: Message | InlineMessage | None, tap: CardTap, turns: _Turns
    ) -> tuple[str, bool]:
        """Store the tap's change: the tap's answer, and whether to redraw."""
        outcome: list[TapResult] = []

        def change(state: CardState) -> CardState:
            outcome[:] = [apply_tap(state, tap, self._picker(state.item))]
            return outcome[0].state or state

        try:
            updated = await self._cards.update(tap.token, change) if message is not None else None
        except CardBusy:  # many taps on one card at once, in a busy group
            return _("Many taps at once: please tap again."), False
        if updated is None:
            return _("This card has expired. Paste the link again."), False
        if turns.shown is None:  # the first tap since the card was last drawn
            turns.shown = updated[0]
        return _toast(outcome[0].note), outcome[0].state is not None

    async def _redraw(self, message: Message | InlineMessage, token: str, turns: _Turns) -> None:
        """Draw what is stored, until the card shows it.

        Another replica may store (and draw) a later tap while this edit waits
        its turn to be sent, so this edit can land last with an older state:
        what is stored is read again once it has landed.
        """
        for _round in range(MAX_REDRAWS):
            latest, unsure = await self._cards.get_for_redraw(token)
            if latest is None or (latest == turns.shown and not unsure):
                return
            picker = self._picker(latest.item)
            with self._i18n.use_locale(latest.lang):
                view = render_card(
                    latest, token, buy_url_template=self._buy_url, picker=picker, buy=self._buy
                )
            shown_photo = card_photo(turns.shown, picker) if turns.shown else None
            try:
                await self._sender.edit(
                    message, view, photo_changed=unsure or shown_photo != view.photo
                )
            except TelegramAPIError as error:
                # The tap is answered already. The message still shows what it showed
                # before, not the state stored before this tap: the next redraw (any
                # tap, any replica) must not take that state's photo to be on screen.
                log.warning("card not redrawn: %s", error.message)
                await self._unsure(token)
                return
            if unsure:
                await self._sure(token)
            turns.shown = latest

    async def _unsure(self, token: str) -> None:
        try:
            await self._cards.mark_unsure(token)
        except (RedisError, CardBusy):  # the next redraw may take the wrong photo as shown
            log.warning("a failed redraw not recorded")

    async def _sure(self, token: str) -> None:
        with contextlib.suppress(RedisError, CardBusy):  # a later redraw sends the photo again
            await self._cards.mark_sure(token)

    def _picker(self, item: Item) -> VariantPicker:
        held = self._pickers.get(id(item))
        if held is None or held[0] is not item:
            held = self._pickers[id(item)] = (item, VariantPicker(item))
        return held[1]


def _shows_card(message: Message, token: str) -> bool:
    """True when ``message`` carries the buttons of card ``token``.

    Callback data are not signed and a card's token shows in its buttons, so a
    modified client could send one card's data on another message: that tap
    must neither change the first card nor redraw the second as it.
    """
    markup = message.reply_markup
    if markup is None:
        return False
    sep = CardTap.__separator__
    mine = f"{CardTap.__prefix__}{sep}{token}{sep}"
    return any(
        (button.callback_data or "").startswith(mine)
        for row in markup.inline_keyboard
        for button in row
    )


def invalid_tap_text() -> str:
    return _toast(TapNote.INVALID)


def _toast(note: TapNote) -> str:
    if note is TapNote.OUT_OF_STOCK:
        return _("Out of stock")
    if note is TapNote.INVALID:
        return _("This button is no longer valid.")
    return ""
