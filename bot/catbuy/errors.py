"""Upstream failures, one class each. Messages never hold the API key.

``refundable`` says whether a failed paid look-up gives the quota back: the
failure was ours or the upstream's, not an answer about the item.
"""

from __future__ import annotations


class CatBuyError(Exception):
    """Any failure of an upstream call.

    ``sent`` is False when the request cannot have reached the upstream (no
    connection was made), so nothing was billed.
    """

    refundable = True

    def __init__(self, message: str = "", *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class MissingParameter(CatBuyError):
    """400 missing_parameter."""


class InvalidUrl(CatBuyError):
    """400 invalid_url: the upstream refused the item URL (the bot's own canonical one)."""


class InvalidRequest(CatBuyError):
    """400 with another code (e.g. a risk value the upstream refuses)."""

    refundable = False


class AuthError(CatBuyError):
    """401 missing_api_key / invalid_api_key: trips the breaker."""


class InsufficientBalance(CatBuyError):
    """402 insufficient_balance: trips the breaker."""


class RateLimited(CatBuyError):
    """429 rate_limited; ``retry_after`` in seconds when the upstream said."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(CatBuyError):
    """5xx, or another unexpected HTTP status."""


class ItemNotFound(CatBuyError):
    """HTTP 200 with ``code != 1``: the upstream did the work, so it is charged."""

    refundable = False


class BadResponse(CatBuyError):
    """An HTML error page, invalid JSON, or JSON of the wrong shape."""


class UpstreamTimeout(CatBuyError):
    """The upstream did not answer in time."""


class NetworkError(CatBuyError):
    """The upstream could not be reached."""
