"""The link buttons at a card's bottom: the marketplace, the operator's buy
link, the chosen shopping agent, and the other agents' links on demand.

Pure functions of the item (and its chosen variant), the chat's agent and the
operator's settings. Once every picker dimension is chosen, each link names
that SKU (``skuId`` on the marketplace URL it wraps) where its form can carry
one. "Other agents" swaps the bottom rows for the popular agents' URL buttons
(and back): a tap on the card, stored with the card, never an upstream call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.cards.buttons import link_button, tap_button
from bot.config import Settings
from bot.items.item import ItemRef, Platform
from bot.links.agents import AGENTS, Agent, agent_url, by_slug, marketplace_url
from bot.telegram.callbacks import CardAct, card_tap

PLATFORM_NAMES: dict[Platform, str] = {
    Platform.TAOBAO: "Taobao",
    Platform.TMALL: "Tmall",
    Platform.ALI1688: "1688",
    Platform.WEIDIAN: "Weidian",
    Platform.GOOFISH: "Goofish",
}
# Buttons the normal bottom takes at most: marketplace, operator's buy link,
# the chosen agent, "Other agents".
BOTTOM_BUTTONS = 4
AGENTS_PER_ROW = 2


@dataclass(frozen=True)
class BuyOptions:
    """The operator's side of the links: ``BUY_URL_TEMPLATE``, whether chats
    pick their agent (``AGENT_CHOICE``), and the referral codes
    (``AGENT_REFERRALS``, by agent slug)."""

    template: str | None = None
    agent_choice: bool = False
    referrals: Mapping[str, str] = field(default_factory=dict)


def buy_options(settings: Settings) -> BuyOptions:
    return BuyOptions(
        template=settings.buy_url_template,
        agent_choice=settings.agent_choice_on,
        referrals=dict(settings.agent_referrals),
    )


def operator_link(template: str | None, ref: ItemRef) -> str | None:
    """The operator's buy URL: placeholders filled from the item's marketplace URL."""
    if not template:
        return None
    return template.format(
        url=quote(marketplace_url(ref), safe=""), platform=ref.platform.value, id=ref.item_id
    )


def agent_link(agent: Agent, ref: ItemRef, options: BuyOptions) -> str | None:
    """The item on ``agent``, with the operator's referral code where it has one."""
    return agent_url(agent, ref, options.referrals.get(agent.slug))


_POPULAR = tuple(agent for agent in AGENTS if agent.popular)


def other_agents(ref: ItemRef, chosen: str | None) -> list[Agent]:
    """The popular agents that can carry this item, the chat's own left out."""
    return [a for a in _POPULAR if a.slug != chosen and a.can_carry(ref.platform)]


def bottom_rows(
    ref: ItemRef, options: BuyOptions, agent: str | None
) -> list[list[InlineKeyboardButton]]:
    """Marketplace and operator's buttons, then the chosen agent's: what every
    card ends with (a free link card too)."""
    name = PLATFORM_NAMES[ref.platform]
    first = [link_button(_("Open on {marketplace}").format(marketplace=name), marketplace_url(ref))]
    operator = operator_link(options.template, ref)
    if operator:
        first.append(link_button(_("🛒 Buy through us"), operator))
    rows = [first]
    chosen = by_slug(agent) if agent and options.agent_choice else None
    url = agent_link(chosen, ref, options) if chosen else None
    if chosen and url:
        rows.append([link_button(_("🛒 Buy on {agent}").format(agent=chosen.name), url)])
    return rows


def agent_rows(
    ref: ItemRef, options: BuyOptions, chosen: str | None, *, limit: int
) -> list[list[InlineKeyboardButton]]:
    """Up to ``limit`` popular agents' URL buttons, a few a row."""
    buttons = [
        link_button(agent.name, url)
        for agent in other_agents(ref, chosen)[: max(limit, 0)]
        if (url := agent_link(agent, ref, options))
    ]
    return [buttons[i : i + AGENTS_PER_ROW] for i in range(0, len(buttons), AGENTS_PER_ROW)]


def card_link_rows(
    ref: ItemRef,
    options: BuyOptions,
    *,
    agent: str | None,
    others: bool,
    token: str,
    room: int,
) -> list[list[InlineKeyboardButton]]:
    """A product card's bottom rows, within ``room`` buttons.

    With ``AGENT_CHOICE`` off, the marketplace and the operator's button, as
    ever. With it on, the chosen agent's button and "Other agents" too; or,
    once that was tapped (``others``), the popular agents and a way back.
    """
    if not options.agent_choice:
        return bottom_rows(ref, options, None)
    if others:
        back = [tap_button(_("◀ Back"), card_tap(token, CardAct.AGENTS, opt=0))]
        return [*agent_rows(ref, options, agent, limit=room - 1), back]
    rows = bottom_rows(ref, options, agent)
    if other_agents(ref, agent):
        rows.append([tap_button(_("🌐 Other agents"), card_tap(token, CardAct.AGENTS, opt=1))])
    return rows
