"""The command menu, registered with Telegram once per interface language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n.language import DEFAULT_LOCALE, SUPPORTED_LOCALES

log = logging.getLogger(__name__)


def command_menu(*, agent_choice: bool = False) -> list[BotCommand]:
    commands = [
        BotCommand(command="help", description=_("How to use the bot")),
        BotCommand(command="quota", description=_("Your look-ups left today")),
        BotCommand(command="lang", description=_("Choose your language")),
    ]
    if agent_choice:
        commands.append(BotCommand(command="agent", description=_("Choose your shopping agent")))
    return commands


async def register_commands(bot: Bot, i18n: I18n, *, agent_choice: bool = False) -> None:
    """setMyCommands per language (the default list is English). Never fatal."""
    try:
        for locale in SUPPORTED_LOCALES:
            with i18n.context(), i18n.use_locale(locale):
                commands = command_menu(agent_choice=agent_choice)
            language = None if locale == DEFAULT_LOCALE else locale
            await bot.set_my_commands(commands, language_code=language)
    except TelegramAPIError as error:
        log.warning("could not register the command menu: %s", error.message)
