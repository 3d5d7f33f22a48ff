"""What a tap on a card does: validate against server-side state, change it, redraw.

Taps never call the upstream. Callback data are not signed, so every value is
checked against the card's stored state; anything that does not fit is
answered and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAct, CardTap
from bot.card import MAX_BUTTONS, OWN_BUTTONS, VARIANT_PHOTO, card_photo, render_card
from bot.card_sender import CardSender
from bot.card_state import CardBusy, CardState, CardStore
from bot.picker import VariantPicker
from bot.picker_view import page_sizes


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


def apply_tap(state: CardState, tap: CardTap) -> TapResult:
    """The card after ``tap``; pure, so it can be retried under contention."""
    picker = VariantPicker(state.item)
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
    """One card's taps in this process: the lock, and how many hold or await it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    taps: int = 0


class CardTaps:
    """Applies taps to stored cards and redraws them in the card's own language."""

    def __init__(self, cards: CardStore, sender: CardSender, i18n: I18n, buy_url: str | None):
        self._cards = cards
        self._sender = sender
        self._i18n = i18n
        self._buy_url = buy_url
        self._turns: dict[str, _Turns] = {}

    async def tap(
        self, message: Message | None, tap: CardTap, answer: Callable[[str], Awaitable[object]]
    ) -> None:
        """Change the card, ``answer`` the tap at once (toast, "" for none), then redraw.

        Taps on one card take turns in this process, redraw included: two quick
        taps whose edits crossed on the network left the card showing the older
        choice while the newer one was stored.
        """
        async with self._turn(tap.token):
            await self._tap(message, tap, answer)

    @contextlib.asynccontextmanager
    async def _turn(self, token: str) -> AsyncIterator[None]:
        turns = self._turns.setdefault(token, _Turns())
        turns.taps += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.taps -= 1
            if not turns.taps:
                del self._turns[token]

    async def _tap(
        self, message: Message | None, tap: CardTap, answer: Callable[[str], Awaitable[object]]
    ) -> None:
        outcome: list[TapResult] = []

        def change(state: CardState) -> CardState:
            outcome[:] = [apply_tap(state, tap)]
            return outcome[0].state or state

        if message is not None and not _shows_card(message, tap.token):
            # Data of one card tapped on another message: a modified client.
            await answer(_toast(TapNote.INVALID))
            return
        try:
            updated = await self._cards.update(tap.token, change) if message else None
        except CardBusy:  # many taps on one card at once, in a busy group
            await answer(_("Many taps at once: please tap again."))
            return
        if updated is None or message is None:
            await answer(_("This card has expired. Paste the link again."))
            return
        old, new = updated
        await answer(_toast(outcome[0].note))
        if outcome[0].state is None:
            return
        picker = VariantPicker(new.item)  # the card's item never changes
        with self._i18n.use_locale(new.lang):
            view = render_card(new, tap.token, buy_url_template=self._buy_url, picker=picker)
        changed = card_photo(old, picker) != view.photo
        await self._sender.edit(message, view, photo_changed=changed)


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


def _toast(note: TapNote) -> str:
    if note is TapNote.OUT_OF_STOCK:
        return _("Out of stock")
    if note is TapNote.INVALID:
        return _("This button is no longer valid.")
    return ""
