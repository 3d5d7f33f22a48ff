"""What converted prices and the cost to the door add to drawing a card.

Renders the same card (the Taobao fixture, after choosing a colour) in CNY
only and converted to each of a few currencies with the landed-cost line, in
the four languages; prints the best of several rounds, in µs per card, and
the ratio. The card's full path (look-up, store, Telegram) costs milliseconds
on top of either, so ``python -m bench.card_latency`` cannot tell them apart
on a busy machine; this can.

Run: ``python -m bench.card_prices [--cards 2000]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import fakeredis

from bot.cards.picker import VariantPicker
from bot.cards.prices import CardPricing
from bot.cards.rendering import render_card
from bot.cards.state import CardState
from bot.catbuy.payload import parse_item
from bot.i18n.user_locale import create_i18n
from bot.money.choices import CurrencyChoices
from bot.money.conversion import Shipping
from bot.money.rates import RateBook
from bot.money.reference import bundled_reference

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/catbuy/taobao_two_dims.json"
ROUNDS = 7
CASES = (("en", "USD"), ("ru", "RUB"), ("es", "EUR"), ("zh", "GBP"))


def best_of(rounds: int, cards: int, draw: Callable[[], object]) -> float:
    """CPU microseconds per card (this thread's, so other processes count less), the best
    round."""
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(cards):
            draw()
        best = min(best, (time.thread_time() - started) / cards)
    return best * 1e6


def main(cards: int) -> None:
    item = parse_item(json.loads(FIXTURE.read_text()))
    picker = VariantPicker(item)
    choice = picker.toggle(picker.empty_choice(), 0, 0)
    rates = RateBook(bundled_reference(), {"RUB": Decimal("12.9")}, Decimal("2"))
    pricing = CardPricing(
        rates, CurrencyChoices(fakeredis.FakeAsyncRedis()), Shipping(Decimal(60), Decimal(5))
    )
    i18n = create_i18n()
    print(f"card render, best of {ROUNDS} rounds of {cards} cards (µs per card)")
    for lang, currency in CASES:
        state = CardState(
            item=item,
            lang=lang,
            choice=choice,
            pages=(0,) * len(choice),
            source_url=item.ref.canonical_url,
            currency=currency,
        )
        with i18n.context(), i18n.use_locale(lang):
            plain = best_of(
                ROUNDS,
                cards,
                lambda state=state: render_card(
                    state, "t" * 12, buy_url_template=None, picker=picker
                ),
            )
            converted = best_of(
                ROUNDS,
                cards,
                lambda state=state: render_card(
                    state, "t" * 12, buy_url_template=None, picker=picker, pricing=pricing
                ),
            )
        print(
            f"    {lang} {currency}: CNY only {plain:6.1f}   converted + to the door"
            f" {converted:6.1f}   +{converted - plain:5.1f} µs ({converted / plain:.2f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=2000)
    main(parser.parse_args().cards)
