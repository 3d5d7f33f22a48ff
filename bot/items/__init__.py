"""The product model: ``Item``, its SKUs and dimensions, and ``ItemRef``.

Ground floor: plain pydantic data, imports nothing of the bot.
"""
