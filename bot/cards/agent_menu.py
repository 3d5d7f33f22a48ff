"""/agent's words and keyboard: the agents to pick from, a page at a time.

Popular agents come first, then the rest by name; the chat's current agent
is marked. Pure functions of the choice and the page.
"""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.cards.buttons import tap_button
from bot.links.agents import AGENTS, Agent, by_slug
from bot.telegram.callbacks import AgentPick

AGENTS_PER_PAGE = 12
PER_ROW = 3
NO_AGENT = "-"


def menu_order() -> list[Agent]:
    return sorted(AGENTS, key=lambda agent: (not agent.popular, agent.name.lower()))


def page_count() -> int:
    return -(-len(AGENTS) // AGENTS_PER_PAGE)


def agent_keyboard(current: str | None, page: int) -> InlineKeyboardMarkup:
    """One page of agents, ◀ n/m ▶ to turn pages, and "No agent"."""
    pages = page_count()
    page = min(max(page, 0), pages - 1)
    shown = menu_order()[page * AGENTS_PER_PAGE : (page + 1) * AGENTS_PER_PAGE]
    buttons = [
        tap_button(("✅ " if a.slug == current else "") + a.name, AgentPick(slug=a.slug).pack())
        for a in shown
    ]
    rows: list[list[InlineKeyboardButton]] = [
        buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)
    ]
    if pages > 1:
        rows.append(
            [
                tap_button("◀", AgentPick(page=(page - 1) % pages).pack()),
                tap_button(f"{page + 1}/{pages}", AgentPick(page=page).pack()),
                tap_button("▶", AgentPick(page=(page + 1) % pages).pack()),
            ]
        )
    rows.append([tap_button(_("✖ No agent"), AgentPick(slug=NO_AGENT).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def agent_prompt(current: str | None, *, in_group: bool) -> str:
    if in_group:
        ask = _(
            "Choose this group's shopping agent: every card here will carry a button "
            "to buy the item there."
        )
    else:
        ask = _("Choose your shopping agent: cards will carry a button to buy the item there.")
    agent = by_slug(current) if current else None
    now = _("Now: {agent}").format(agent=agent.name) if agent else _("No agent chosen yet.")
    return f"{ask}\n{now}"


def agent_set_text(slug: str | None) -> str:
    agent = by_slug(slug) if slug else None
    if agent is None:
        return _("No shopping agent: cards carry the marketplace link.")
    return _("Shopping agent set: {agent}").format(agent=agent.name)


def unknown_agent_text(name: str) -> str:
    return _("Unknown agent: {name}. Send /agent to pick one from the list.").format(
        name=html.escape(name[:40])
    )


def admins_only_text() -> str:
    return _("Only the group's admins can choose its shopping agent.")


def agent_choice_off_text() -> str:
    return _("This bot's operator has set the shopping agent; there is nothing to choose.")
