"""Money: prices converted from CNY into the shopper's currency, and the cost to the door.

``currencies`` (the codes the bot knows, defaults by language, digits shown),
``rates`` (the rate book: reference rates, the operator's own, the markup),
``reference`` (the European Central Bank's reference rates: bundled, and read
from its daily file), ``refresh`` (newer reference rates fetched in the
background and shared through the store), ``conversion`` (``Decimal``
arithmetic: converted prices and the landed cost) and ``choices`` (whose
currency a card uses, kept in the store).

Domain floor: imports only the ground floor (``bot.storage``, ``bot.ops``) and
plain libraries; never aiogram.
"""
