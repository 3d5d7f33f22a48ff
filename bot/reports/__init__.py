"""What the bot tells about usage: /quota and /stats words, admin notices,
and the outcome metrics and log lines.

Presentation floor: may import services, the domain and the ground.
"""
