"""Telegram's rules: flood limits, chat rights, group admins, callback data, the
command menu, the webhook server and its update claims.

Ground floor (it speaks aiogram): imports only the ground (``bot.config``,
``bot.ops``, ``bot.i18n``, ``bot.storage``).
"""
