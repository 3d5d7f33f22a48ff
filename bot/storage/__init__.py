"""Shared state: Redis or its in-process look-alike, and packed JSON.

Ground floor: imports nothing of the bot.
"""
