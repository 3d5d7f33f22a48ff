"""Answering a message that holds items: look each up, then send cards or short notes.

The presentation-side service behind the links handler: it calls the
Telegram-free ``LookupService`` and turns each result into a card or a short,
translated message.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections import Counter
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from redis.exceptions import RedisError

from bot.cards.buy_links import buy_options
from bot.cards.free_card import free_card, is_free
from bot.cards.help_text import no_item_text
from bot.cards.picker import VariantPicker
from bot.cards.picker_view import page_of
from bot.cards.refusals import refusal_text
from bot.cards.rendering import (
    MAX_BUTTONS,
    OWN_BUTTONS,
    PLATFORM_NAMES,
    VARIANT_PHOTO,
    CardView,
    render_card,
)
from bot.cards.sending import CardSender, Destination
from bot.cards.state import CardState, CardStore, new_token
from bot.config import Settings
from bot.items.item import ItemRef
from bot.links.agent_prefs import AgentPrefs
from bot.links.message import CollectedItems
from bot.lookup.results import Found, LookupResult, Refused
from bot.lookup.service import LookupService
from bot.ops.background import repeating
from bot.ops.metrics import Metrics
from bot.reports.admin_notices import AdminNotifier
from bot.reports.outcomes import record_lookup
from bot.telegram.chat_rights import ChatRights
from bot.telegram.flood_limits import TelegramLimits

log = logging.getLogger(__name__)

# "Sending a photo…" shows only when the look-up is slow (a paid one); a cached
# card arrives before it would, and costs no extra Bot API call. Telegram shows
# an action for 5 s, so a long wait renews it.
CHAT_ACTION_DELAY = 0.3
CHAT_ACTION_EVERY = 4.5
# A group whose cards would wait longer than this to be sent gets no new look-up.
MAX_SEND_DELAY = 60.0


@dataclass(frozen=True)
class Paste:
    """Who pasted which items where; ``thread_id``: the forum topic, if any;
    ``chat_title``: the group's name, for the operator's figures."""

    chat_id: int
    is_group: bool
    user_id: int
    message_id: int
    lang: str
    items: CollectedItems
    thread_id: int | None = None
    chat_title: str | None = None


class CardService:
    """Turns a paste into cards; one upstream look-up per distinct item at most."""

    def __init__(
        self,
        bot: Bot,
        lookup: LookupService,
        cards: CardStore,
        sender: CardSender,
        notifier: AdminNotifier,
        settings: Settings,
        metrics: Metrics,
        rights: ChatRights,
        limits: TelegramLimits,
        agents: AgentPrefs | None = None,
    ) -> None:
        self._bot = bot
        self._agents = agents
        self._buy = buy_options(settings)
        self._rights = rights
        self._limits = limits
        # Items being looked up, per chat: their cards are about to queue.
        self._looking_up: Counter[int] = Counter()
        self._lookup = lookup
        self._cards = cards
        self._sender = sender
        self._notifier = notifier
        self._settings = settings
        self._metrics = metrics

    async def answer(self, paste: Paste) -> None:
        """Cards for the items, then one short note: refusals, skipped items, and in
        private a short link that did not open. Silence when no item was found in a
        group; in private, a hint."""
        refs = paste.items.items
        if not refs and not paste.items.unresolved:
            if not paste.is_group:  # a lookalike, a shop page: say what works
                await self._bot.send_message(paste.chat_id, no_item_text())
            return
        if paste.is_group:
            if self._turned_away(paste.chat_id):
                return
            self._lookup.note_group(paste.chat_id, paste.chat_title)

        async def show_upload() -> None:
            await self._bot.send_chat_action(
                paste.chat_id, ChatAction.UPLOAD_PHOTO, message_thread_id=paste.thread_id
            )

        # Read while the look-ups run: the chat's agent costs them no wait.
        choosing = asyncio.ensure_future(self._agent_of(paste)) if self._buy.agent_choice else None
        self._looking_up[paste.chat_id] += len(refs)
        try:
            async with repeating(
                show_upload, first_after=CHAT_ACTION_DELAY, every=CHAT_ACTION_EVERY
            ):
                if len(refs) == 1:  # the usual paste: no task to gather
                    results = [await self._look_up(paste, refs[0])]
                else:
                    results = await asyncio.gather(*(self._look_up(paste, ref) for ref in refs))
        except BaseException:  # cut off (a stop): the agent is not needed any more
            if choosing is not None:
                choosing.cancel()
            raise
        finally:
            self._looking_up[paste.chat_id] -= len(refs)
            if not self._looking_up[paste.chat_id]:
                del self._looking_up[paste.chat_id]
        agent = await choosing if choosing is not None else None
        notes: list[str] = []
        for ref, result in zip(refs, results, strict=True):
            if isinstance(result, Found):
                await self._send_card(paste, ref, result, agent)
            elif is_free(result):
                await self._send_free_card(paste, ref, result, agent)
            else:
                text = refusal_text(result, ref)
                if text not in notes:
                    notes.append(text)
            await self._notifier.handle(result)
        untried = paste.items.untried if refs else 0  # counted beside items, never alone
        if paste.items.skipped or untried:
            limit = self._settings.max_items_per_message
            notes.append(_skipped_text(paste.items.skipped, untried, limit))
        if paste.items.unresolved and not paste.is_group and not refs:
            notes.append(_("Couldn't open this link. Paste the marketplace link instead."))
        if notes:
            try:
                await self._bot.send_message(
                    paste.chat_id,
                    "\n".join(notes),
                    message_thread_id=paste.thread_id,
                    reply_to_message_id=paste.message_id,
                    allow_sending_without_reply=True,
                )
            except TelegramAPIError as error:
                self._rights.learn(paste.chat_id, error)
                log.warning("note not sent: %s", error.message)

    def _turned_away(self, group_id: int) -> bool:
        """Whether no card could reach this group soon, so none is paid for: it
        muted or removed the bot, or it floods past Telegram's 20 messages a
        minute (a card would wait past ``MAX_SEND_DELAY`` behind the cards
        queued and those still being looked up, in a queue growing without end
        and lost at a restart)."""
        if not self._rights.may_write(group_id):
            log.info("chat %s does not let the bot write: paste not looked up", group_id)
            return True
        ahead = self._looking_up.get(group_id, 0)
        if self._limits.send_delay(group_id, ahead=ahead) > MAX_SEND_DELAY:
            log.warning("group %s is flooding: paste not looked up", group_id)
            self._metrics.quota_refusals.labels(kind="group_flood").inc()
            self._lookup.count_group_flood()
            return True
        return False

    async def _look_up(self, paste: Paste, ref: ItemRef) -> LookupResult:
        started = time.monotonic()
        result = await self._lookup.lookup(
            ref,
            user_id=paste.user_id,
            chat_id=paste.chat_id if paste.is_group else None,
            lang=self._settings.searchlang(paste.lang),
            is_admin=self._settings.is_admin(paste.user_id),
        )
        record_lookup(
            self._metrics,
            result,
            platform=ref.platform.value,
            item_id=ref.item_id,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return result

    async def _agent_of(self, paste: Paste) -> str | None:
        """The agent chosen where the paste was made: the group's, or the user's."""
        if self._agents is None or not self._buy.agent_choice:
            return None
        return await self._agents.get(paste.chat_id if paste.is_group else paste.user_id)

    async def _send_free_card(
        self, paste: Paste, ref: ItemRef, refused: Refused, agent: str | None
    ) -> None:
        """The item's links without its details: no upstream call was made."""
        card = free_card(
            ref,
            refused,
            agent=agent,
            buy=self._buy,
            lang=paste.lang,
            breaker_cooldown=self._settings.breaker_cooldown_seconds,
        )
        view = CardView(photo=None, caption=card.text, keyboard=card.keyboard)
        await self._send(Destination(paste.chat_id, paste.message_id, paste.thread_id), view)

    async def _send_card(self, paste: Paste, ref: ItemRef, found: Found, agent: str | None) -> None:
        item = found.item
        picker = VariantPicker(item)
        choice = picker.empty_choice()
        if ref.sku_id:
            choice = picker.choice_for_sku(ref.sku_id) or choice
        state = CardState(
            item=item,
            lang=paste.lang,
            choice=choice,
            pages=page_of(picker, choice, max_buttons=MAX_BUTTONS - OWN_BUTTONS),
            photo=VARIANT_PHOTO if picker.summary(choice).image else 0,
            source_url=ref.canonical_url,
            agent=agent,
        )
        token = new_token()
        view = render_card(
            state,
            token,
            buy_url_template=self._settings.buy_url_template,
            picker=picker,
            buy=self._buy,
        )
        # Saved while Telegram takes the card: a tap can only come once it has arrived.
        saving = asyncio.ensure_future(self._save(token, state))
        await self._send(Destination(paste.chat_id, paste.message_id, paste.thread_id), view)
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


def _skipped_text(skipped: list[ItemRef], untried: int, limit: int) -> str:
    """Up to ten skipped items by name, then how many more (short links not opened too)."""
    names = ", ".join(f"{PLATFORM_NAMES[r.platform]} {r.item_id}" for r in skipped[:10])
    more = max(len(skipped) - 10, 0) + untried
    if more > 0:
        names = f"{names} (+{more})" if names else f"+{more}"
    return html.escape(
        ngettext(
            "Skipped (up to {limit} item per message): {items}",
            "Skipped (up to {limit} items per message): {items}",
            limit,
        ).format(limit=limit, items=names)
    )
