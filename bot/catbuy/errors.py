"""Upstream failures, one class each. Messages never hold the API key.

``may_be_billed`` says whether the upstream may have billed the failed call:
the request left, and the answer is not one of the refusals the upstream
documents as unbilled (401, 402, 429). A paid look-up or risk check keeps its
charge then, as if it had succeeded; otherwise it gives the charge back.
"""

from __future__ import annotations


class CatBuyError(Exception):
    """Any failure of an upstream call.

    ``sent`` is False when the request cannot have reached the upstream (no
    connection was made), so nothing was billed. ``billed`` is False for an
    answer the upstream does not bill.
    """

    billed = True

    def __init__(self, message: str = "", *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent

    @property
    def may_be_billed(self) -> bool:
        """Whether the upstream may have billed this call."""
        return self.sent and self.billed


class MissingParameter(CatBuyError):
    """400 missing_parameter."""


class InvalidUrl(CatBuyError):
    """400 invalid_url: the upstream refused the item URL (the bot's own canonical one)."""


class InvalidRequest(CatBuyError):
    """400 with another code (e.g. a risk value the upstream refuses)."""


class AuthError(CatBuyError):
    """401 missing_api_key / invalid_api_key: trips the breaker (unbilled)."""

    billed = False


class InsufficientBalance(CatBuyError):
    """402 insufficient_balance: trips the breaker (unbilled)."""

    billed = False


class RateLimited(CatBuyError):
    """429 rate_limited (unbilled); ``retry_after`` in seconds when the upstream said."""

    billed = False

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(CatBuyError):
    """5xx, or another unexpected HTTP status."""


class ItemNotFound(CatBuyError):
    """HTTP 200 with ``code != 1``: the upstream did the work, so it is charged."""


class BadResponse(CatBuyError):
    """An HTML error page, invalid JSON, or JSON of the wrong shape."""


class UpstreamTimeout(CatBuyError):
    """The upstream did not answer in time."""


class NetworkError(CatBuyError):
    """The upstream could not be reached."""
