"""The product card: picker, stored state, rendering, sending and taps.

``picker`` (the variant picker's rules) and ``state`` (a card's server-side
state) are plain Python; ``rendering``, ``picker_view`` and ``buttons`` turn
them into a caption and a keyboard (``buy_links`` its link buttons,
``agent_menu`` /agent's keyboard); ``free_card`` is the card of a refused
look-up; ``sending`` and ``taps`` speak to Telegram; ``service`` answers a
paste: ``flood_guard`` says whether it is looked up (a chat's queue of cards
kept as short as a stop can drain), and ``opening`` sends the card of each
item found.

Presentation floor: may import services (``bot.lookup``), the domain, the
ground and ``bot.reports``; never ``handlers`` or the composition root.
"""
