"""Callback data of every inline button, with short prefixes (≤ 64 bytes).

Values are not signed: handlers validate each one against server-side state.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CardAct(StrEnum):
    """What a tap on a product card does."""

    OPTION = "o"  # toggle option ``opt`` of dimension ``dim``
    PAGE = "p"  # show page ``opt`` of dimension ``dim``
    GALLERY = "g"  # show photo ``opt``
    RESET = "r"  # clear the choice
    NOOP = "n"  # a label button


class CardTap(CallbackData, prefix="c"):
    """A tap on a product card; ``token`` names its server-side state."""

    token: str
    act: CardAct
    dim: int = 0
    opt: int = 0


class LangPick(CallbackData, prefix="l"):
    """A language chosen in /lang."""

    code: str
