"""The look-up service: link → cache → admission (charge, lock, slot) → upstream → Item.

Service floor: imports the domain (``bot.balance``, ``bot.links``) and the
ground; never aiogram, never presentation.
"""
