"""The CatBuy Services API: client, payload models and errors.

Ground floor: imports only ``bot.items`` (what a payload becomes); never aiogram.
"""
