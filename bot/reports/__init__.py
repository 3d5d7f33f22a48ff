"""What the bot tells about usage: /quota and /stats words, the /stats chart
(``stats_chart``, drawn off the event loop by ``dashboard``) and CSV, admin
notices, and the outcome metrics and log lines.

Presentation floor: may import services, the domain and the ground.
"""
