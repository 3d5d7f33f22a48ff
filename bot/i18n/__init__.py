"""Interface languages: the catalogs, each user's language, and Babel formatting.

Ground floor: imports nothing of the bot but itself.
"""
