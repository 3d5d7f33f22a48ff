"""/agent: a shopper (in private) or a group's admin picks the shopping agent
whose "Buy on …" button the chat's cards carry."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.cards.agent_menu import (
    NO_AGENT,
    admins_only_text,
    agent_choice_off_text,
    agent_keyboard,
    agent_prompt,
    agent_set_text,
    unknown_agent_text,
)
from bot.cards.sending import is_not_modified
from bot.config import Settings
from bot.links.agent_prefs import AgentPrefs
from bot.links.agents import by_slug
from bot.telegram.callbacks import AgentPick
from bot.telegram.group_admins import is_group_admin
from handlers.filters import in_private

_CLEAR = frozenset({"off", "none", "no", "-"})


async def may_choose(bot: Bot, message: Message, user_id: int | None) -> bool:
    """Anyone in private; in a group its admins (an anonymous admin writes as the group)."""
    if in_private(message):
        return True
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True
    return user_id is not None and await is_group_admin(bot, message.chat.id, user_id)


async def on_agent(
    message: Message,
    command: CommandObject,
    bot: Bot,
    settings: Settings,
    agent_prefs: AgentPrefs,
) -> None:
    if not settings.agent_choice_on:
        await message.answer(agent_choice_off_text())
        return
    user_id = message.from_user.id if message.from_user else None
    if not await may_choose(bot, message, user_id):
        await message.answer(admins_only_text())
        return
    holder = message.chat.id
    name = (command.args or "").strip()
    if not name:
        current = await agent_prefs.get(holder)
        prompt = agent_prompt(current, in_group=not in_private(message))
        await message.answer(prompt, reply_markup=agent_keyboard(current, 0))
        return
    slug = None if name.lower() in _CLEAR else name
    if slug is not None and by_slug(slug) is None:
        await message.answer(unknown_agent_text(name))
        return
    await agent_prefs.set(holder, slug)
    await message.answer(agent_set_text(slug))


async def on_pick(
    query: CallbackQuery,
    callback_data: AgentPick,
    bot: Bot,
    settings: Settings,
    agent_prefs: AgentPrefs,
) -> None:
    message = query.message
    if not isinstance(message, Message) or not settings.agent_choice_on:
        await query.answer(_("This button is no longer valid."))
        return
    if not await may_choose(bot, message, query.from_user.id):
        await query.answer(admins_only_text(), show_alert=True)
        return
    if not callback_data.slug:  # a page turn
        current = await agent_prefs.get(message.chat.id)
        await query.answer()
        await _edit(message, None, agent_keyboard(current, callback_data.page))
        return
    slug = None if callback_data.slug == NO_AGENT else callback_data.slug
    if not await agent_prefs.set(message.chat.id, slug):
        await query.answer(_("This button is no longer valid."))
        return
    text = agent_set_text(slug)
    await query.answer(text)
    await _edit(message, text, None)


async def _edit(message: Message, text: str | None, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        if text is None:
            await message.edit_reply_markup(reply_markup=keyboard)
        else:
            await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest as error:  # a second tap before the first edit showed
        if not is_not_modified(error):
            raise


def create_router() -> Router:
    router = Router(name="agent")
    router.message.register(on_agent, Command("agent"))
    router.callback_query.register(on_pick, AgentPick.filter())
    return router
