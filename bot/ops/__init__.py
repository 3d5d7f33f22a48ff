"""Operations: log set-up and redaction, Prometheus metrics, background tasks.

Ground floor: imports nothing of the bot.
"""
