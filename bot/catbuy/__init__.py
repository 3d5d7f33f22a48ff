"""The CatBuy Services API: client, payload models, lenient value coercion, text
cleaning, key masking and errors.

Ground floor: imports only ``bot.items`` (what a payload becomes); never aiogram.
"""
