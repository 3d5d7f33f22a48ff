"""Callback data of every inline button, with short prefixes (≤ 64 bytes).

Values are not signed: handlers validate each one against server-side state.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData


class CardAct(StrEnum):
    """What a tap on a product card does."""

    OPTION = "o"  # toggle option ``opt`` of dimension ``dim``
    PAGE = "p"  # show page ``opt`` of dimension ``dim``
    GALLERY = "g"  # show photo ``opt``
    RESET = "r"  # clear the choice
    NOOP = "n"  # a label button
    AGENTS = "a"  # ``opt`` 1: show the other agents' links, 0: back


class CardTap(CallbackData, prefix="c"):
    """A tap on a product card; ``token`` names its server-side state."""

    token: str
    act: CardAct
    dim: int = 0
    opt: int = 0


def card_tap(token: str, act: CardAct, dim: int = 0, opt: int = 0) -> str:
    """``CardTap(token=token, act=act, dim=dim, opt=opt).pack()``, without the model.

    A card carries a dozen or more taps and is drawn again on every tap; building
    and dumping a pydantic model for each was a third of the card's render time.
    Handlers still read taps with ``CardTap.unpack``.
    """
    sep = CardTap.__separator__
    if sep in token:
        raise ValueError(f"token {token!r} holds the separator {sep!r}")
    data = sep.join((CardTap.__prefix__, token, act.value, str(dim), str(opt)))
    if len(data.encode()) > MAX_CALLBACK_LENGTH:
        raise ValueError(f"callback data {data!r} is over {MAX_CALLBACK_LENGTH} bytes")
    return data


class LangPick(CallbackData, prefix="l"):
    """A language chosen in /lang."""

    code: str


class AgentPick(CallbackData, prefix="ag"):
    """A tap in /agent's keyboard: an agent's ``slug``, or a ``page`` of agents.

    ``slug`` is empty for a page turn, ``-`` for "no agent".
    """

    slug: str = ""
    page: int = 0
