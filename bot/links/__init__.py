"""Reading links: marketplace URLs, shopping agents, short links, message text;
and writing them: an item's marketplace and agent links, and the agent a chat chose.

Domain floor: imports ``bot.items`` and nothing above; never aiogram.
"""
