"""Reading links: marketplace URLs, shopping agents, short links, message text.

Domain floor: imports ``bot.items`` and nothing above; never aiogram.
"""
