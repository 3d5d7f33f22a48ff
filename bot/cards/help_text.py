"""The words of /start and /help, and the hint for a message with no item."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext


def help_text(*, is_admin: bool, max_items: int, agent_choice: bool = False) -> str:
    lines = [
        _("<b>CatBuy bot</b> turns marketplace links into product cards."),
        "",
        ngettext(
            "Paste a link from Taobao, Tmall, 1688, Weidian or Goofish (Xianyu), or a "
            "shopping-agent link that wraps one. Up to {count} item per message.",
            "Paste a link from Taobao, Tmall, 1688, Weidian or Goofish (Xianyu), or a "
            "shopping-agent link that wraps one. Up to {count} items per message.",
            max_items,
        ).format(count=max_items),
        _("Tap the options under a card to see a variant's price and stock."),
        "",
        _("/quota: your look-ups left today"),
        _("/lang: choose your language"),
        _("/currency: the currency card prices are converted to"),
        *([_("/agent: choose your shopping agent")] if agent_choice else []),
        _("/help: this text"),
    ]
    if is_admin:
        lines += [
            "",
            _("<b>Admin</b>"),
            _("/stats: today's look-ups, cache hits, budget and spend"),
            _("/stats csv: the daily figures of the last 90 days as a file"),
            _("/risk &lt;type&gt; &lt;value&gt;: check a customer against the blacklist"),
            _("/risklog: the last risk checks"),
        ]
    return "\n".join(lines)


def no_item_text() -> str:
    """In a private chat, to a message that names no item."""
    return _(
        "I found no item link here. Paste the link of an item page from Taobao, Tmall, "
        "1688, Weidian or Goofish; /help tells more."
    )
