"""The free link card as a pure function, and the agents' README list."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

from bot.cards.buy_links import BuyOptions
from bot.cards.free_card import FREE_KINDS, FreeCard, free_card, is_free
from bot.i18n.user_locale import create_i18n
from bot.items.item import ItemRef, Platform
from bot.links.urls import parse_item_url
from bot.lookup.service import Failure, Refused
from scripts import agents_readme

REF = ItemRef(platform=Platform.WEIDIAN, item_id="7231406953")
BUY = BuyOptions(
    template="https://agent.example/p?u={url}", agent_choice=True, referrals={"cnfans": "77"}
)


def links(card: FreeCard) -> dict[str, str]:
    return {b.text: b.url for row in card.keyboard.inline_keyboard for b in row if b.url}


def test_every_refusal_kind_gets_its_line_in_the_language_asked() -> None:
    i18n: I18n = create_i18n()
    with i18n.context():
        for kind in FREE_KINDS:
            refusal = Refused(kind, reset_seconds=3600)
            english = free_card(REF, refusal, agent="cnfans", buy=BUY, lang="en")
            russian = free_card(REF, refusal, agent="cnfans", buy=BUY, lang="ru")
            assert "Weidian item 7231406953" in english.text
            assert "товар 7231406953" in russian.text
            assert english.text != russian.text
            urls = links(english)
            assert urls["Open on Weidian"] == "https://weidian.com/item.html?itemID=7231406953"
            assert urls["🛒 Buy through us"].startswith("https://agent.example/p?u=https%3A")
            assert urls["🛒 Buy on CNFans"].endswith("platform=WEIDIAN&ref=77")
            assert all(parse_item_url(u) == REF for t, u in urls.items() if "through" not in t)


def test_only_refusals_that_cost_nothing_but_details_get_the_free_card() -> None:
    assert is_free(Refused(Failure.USER_QUOTA))
    assert not is_free(Refused(Failure.NOT_FOUND))  # charged and known: its own message
    assert not is_free(Refused(Failure.STORE_DOWN))


def test_without_agent_choice_the_free_card_has_the_marketplace_and_operator_links() -> None:
    with create_i18n().context():
        card = free_card(
            REF, Refused(Failure.BUDGET), agent="cnfans", buy=BuyOptions(template=None), lang="en"
        )
    assert list(links(card)) == ["Open on Weidian"]


def test_the_readme_lists_every_agent_of_the_table() -> None:
    readme = agents_readme.README.read_text(encoding="utf-8")
    assert agents_readme.rewritten(readme) == readme, "run python -m scripts.agents_readme"
    assert "| LitBuy ★ |" in readme and "`ikako.vip`" in readme
