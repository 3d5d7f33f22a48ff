"""JSON as kept in the store: zlib-compressed, and read back within a bound.

Cards keep their whole item for 48 hours and the cache keeps items for an
hour, so items are most of what the bot stores. Compressed at level 1, a
usual item's JSON is 3-4 times smaller (~3 KB to ~0.9 KB) and one of hundreds
of SKUs 10-13 times, for ~25 µs to pack and ~10 µs to unpack. JSON stored
plain (by an earlier release) unpacks as it is; that release cannot read
packed values, though (see the README on upgrading replicas).
"""

from __future__ import annotations

import zlib

# An item's JSON stays far below this (2,000 SKUs: ~200 KB); what inflates
# past it is not ours.
MAX_JSON_BYTES = 4 * 1024 * 1024


def pack(text: str) -> bytes:
    """``text``, a JSON object, compressed for the store."""
    return zlib.compress(text.encode(), 1)


def unpack(raw: bytes) -> bytes | None:
    """The JSON ``pack`` made, or plain JSON; None when cut short, too large or not zlib."""
    if raw.startswith(b"{"):
        return raw
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(raw, MAX_JSON_BYTES)
    except zlib.error:
        return None
    if inflater.unconsumed_tail or not inflater.eof:
        return None
    return text
