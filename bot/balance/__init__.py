"""The balance guard: what a paid call may cost, and when it may happen.

Quotas and the daily budget (``ledger``), fair pacing under the key's rate
(``pacing``), the breaker after a 401/402 (``breaker``), the one way to the
upstream that applies them (``upstream_gate``), identical work done once
(``in_flight``), and the daily usage counters (``daily_usage``: what they count
in ``usage_figures``, the days kept and read back in ``usage_history``).

Domain floor: imports only the ground floor (``bot.catbuy`` errors, ``bot.storage``,
``bot.ops``); never aiogram.
"""
