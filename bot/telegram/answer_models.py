"""Keeps aiogram's Bot API answer models alive, so no answer builds a new class.

aiogram reads every Bot API answer with ``Response[method.__returning__]``.
pydantic caches such parametrised models only through weak references, so
after the garbage collector has run, the next answer builds and compiles the
class again: about 6 ms of CPU on the benchmark machine, for a ``sendPhoto`` or
a ``getUpdates``. Holding one reference to each model keeps the cache warm.
"""

from __future__ import annotations

from typing import Any

from aiogram import methods
from aiogram.methods.base import Response, TelegramMethod

_kept: list[Any] = []


def keep_response_models() -> int:
    """Build ``Response[T]`` once for every Bot API method's answer type; how many."""
    if not _kept:
        answers = {
            method.__returning__
            for method in vars(methods).values()
            if isinstance(method, type)
            and issubclass(method, TelegramMethod)
            and method is not TelegramMethod
        }
        _kept.extend(Response[answer] for answer in answers)  # type: ignore[valid-type]
    return len(_kept)
