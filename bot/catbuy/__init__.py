"""The CatBuy Services API: client, payload models, lenient value coercion, text
cleaning, key masking and errors.

Ground floor: imports only the product model (``bot.items``).
"""
