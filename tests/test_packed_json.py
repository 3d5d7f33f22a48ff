"""JSON kept compressed in the store, read back within a bound."""

from __future__ import annotations

import json
import zlib

from hypothesis import given
from hypothesis import strategies as st

from bot.storage.packed_json import MAX_JSON_BYTES, pack, unpack
from tests.conftest import FIXTURES

ITEM = json.dumps(json.loads((FIXTURES / "taobao_two_dims.json").read_text())["data"])


def test_an_item_packs_small_and_unpacks_whole() -> None:
    packed = pack(ITEM)
    assert unpack(packed) == ITEM.encode()
    assert len(packed) * 3 < len(ITEM.encode())


def test_plain_json_from_an_earlier_release_unpacks_as_it_is() -> None:
    assert unpack(ITEM.encode()) == ITEM.encode()


def test_what_is_cut_short_too_large_or_not_zlib_unpacks_to_none() -> None:
    assert unpack(pack(ITEM)[:-8]) is None
    assert unpack(zlib.compress(b"{" + b" " * MAX_JSON_BYTES + b"}")) is None
    assert unpack(b"x\x9c not zlib") is None
    assert unpack(b"") is None


@given(st.binary(max_size=200))
def test_any_bytes_unpack_without_raising(raw: bytes) -> None:
    unpacked = unpack(raw)
    assert unpacked is None or isinstance(unpacked, bytes)
