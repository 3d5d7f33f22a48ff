"""Answering a message that holds items: look each up, then send cards or short notes.

The presentation-side service behind the links handler: it asks the flood
guard (``bot.cards.flood_guard``) whether the paste may be looked up, calls the
Telegram-free ``LookupService``, opens a card for each item found
(``bot.cards.opening``) and turns the rest into a short, translated message.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.cards.buy_links import buy_options
from bot.cards.flood_guard import FloodGuard, Verdict
from bot.cards.free_card import is_free
from bot.cards.help_text import no_item_text
from bot.cards.opening import CardOpener
from bot.cards.prices import CardPricing
from bot.cards.refusals import refusal_text
from bot.cards.rendering import PLATFORM_NAMES
from bot.cards.sending import CardSender, Destination
from bot.cards.state import CardStore
from bot.config import Settings
from bot.items.item import ItemRef
from bot.links.agent_prefs import AgentPrefs
from bot.links.message import CollectedItems
from bot.lookup.results import Found, LookupResult
from bot.lookup.service import LookupService
from bot.money.choices import holder_for
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
        pricing: CardPricing | None = None,
    ) -> None:
        self._bot = bot
        self._pricing = pricing
        self._rights = rights
        self._agents = agents
        self._buy = buy_options(settings)
        self._guard = FloodGuard(
            rights,
            limits,
            metrics,
            settings.catbuy_timeout_seconds,
            on_flood=lookup.count_flood,
        )
        self._opener = CardOpener(
            cards,
            sender,
            rights,
            self._buy,
            breaker_cooldown=settings.breaker_cooldown_seconds,
            pricing=pricing,
        )
        self._lookup = lookup
        self._notifier = notifier
        self._settings = settings
        self._metrics = metrics

    def stop_by(self, deadline: float) -> None:
        """The process stops at ``deadline`` (event loop time): from now on a paste is
        looked up (and charged) only when its cards can be sent before then."""
        self._guard.stop_by(deadline)

    async def answer(self, paste: Paste) -> None:
        """Cards for the items, then one short note: refusals, skipped items, and in
        private a short link that did not open. Silence when no item was found in a
        group; in private, a hint."""
        refs = paste.items.items
        if not refs and not paste.items.unresolved:
            if not paste.is_group:  # a lookalike, a shop page: say what works
                await self._bot.send_message(paste.chat_id, no_item_text())
            return
        verdict = self._guard.verdict(paste.chat_id, is_group=paste.is_group, items=len(refs))
        if verdict is Verdict.RESTARTING:
            await self._say(paste, _("The bot is restarting. Paste the link again in a minute."))
        if verdict is not Verdict.LOOK_UP:
            return
        if paste.is_group:
            self._lookup.note_group(paste.chat_id, paste.chat_title)

        async def show_upload() -> None:
            await self._bot.send_chat_action(
                paste.chat_id, ChatAction.UPLOAD_PHOTO, message_thread_id=paste.thread_id
            )

        # Read while the look-ups run: the chat's agent costs them no wait.
        choosing = asyncio.ensure_future(self._agent_of(paste)) if self._buy.agent_choice else None
        converting = asyncio.ensure_future(self._currency_of(paste)) if self._pricing else None
        try:
            with self._guard.looking_up(paste.chat_id, len(refs)):
                async with repeating(
                    show_upload, first_after=CHAT_ACTION_DELAY, every=CHAT_ACTION_EVERY
                ):
                    if len(refs) == 1:  # the usual paste: no task to gather
                        results = [await self._look_up(paste, refs[0])]
                    else:
                        looking_up = (self._look_up(paste, ref) for ref in refs)
                        results = await asyncio.gather(*looking_up)
        except BaseException:  # cut off (a stop): the agent is not needed any more
            for reading in (choosing, converting):
                if reading is not None:
                    reading.cancel()
            raise
        agent = await choosing if choosing is not None else None
        currency = await converting if converting is not None else None
        notes: list[str] = []
        to = Destination(paste.chat_id, paste.message_id, paste.thread_id)
        for ref, result in zip(refs, results, strict=True):
            if isinstance(result, Found):
                await self._opener.open(to, ref, result.item, paste.lang, agent, currency)
            elif is_free(result):
                await self._opener.open_free(to, ref, result, paste.lang, agent)
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
            await self._say(paste, "\n".join(notes))

    async def _say(self, paste: Paste, text: str) -> None:
        """A short note in answer to ``paste``."""
        try:
            await self._bot.send_message(
                paste.chat_id,
                text,
                message_thread_id=paste.thread_id,
                reply_to_message_id=paste.message_id,
                allow_sending_without_reply=True,
            )
        except TelegramAPIError as error:
            self._rights.learn(paste.chat_id, error)
            log.warning("note not sent: %s", error.message)

    async def _agent_of(self, paste: Paste) -> str | None:
        """The agent chosen where the paste was made: the group's, or the user's."""
        if self._agents is None:
            return None
        return await self._agents.get(paste.chat_id if paste.is_group else paste.user_id)

    async def _currency_of(self, paste: Paste) -> str | None:
        """The currency of the chat's cards: in a group the group's, whoever pasted."""
        assert self._pricing is not None
        holder = holder_for(chat_id=paste.chat_id, user_id=paste.user_id, is_group=paste.is_group)
        return await self._pricing.choices.currency(holder, paste.lang)

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
