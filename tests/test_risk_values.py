"""Risk values: every type valid and invalid, normalised forms, masks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.risk.values import MAX_LENGTH, RiskType, mask, normalize, parse_request, parse_type

VALID = [
    (RiskType.EMAIL, " John.Doe@Example.COM ", "john.doe@example.com"),
    (RiskType.EMAIL, "buyer@example.com", "buyer@example.com"),
    (RiskType.USERNAME, "  @Buyer_One ", "buyer_one"),
    (RiskType.USERNAME, "ｂｕｙｅｒ", "buyer"),
    (RiskType.PHONE, "13800138000", "+8613800138000"),
    (RiskType.PHONE, "+86 138-0013-8000", "+8613800138000"),
    (RiskType.PHONE, "+1 202 555 0143", "+12025550143"),
    (RiskType.PHONE, "+44 20 7946 0958", "+442079460958"),
    (RiskType.ADDRESS, "  12   Baker\nStreet,  London ", "12 Baker Street, London"),
    (RiskType.ADDRESS, "北京市朝阳区建国路88号", "北京市朝阳区建国路88号"),
    (RiskType.IP, "203.0.113.7", "203.0.113.7"),
    (RiskType.IP, " 2001:0DB8:0000::0001 ", "2001:db8::1"),
    (RiskType.IP, "[::1]", "::1"),
    (RiskType.IP, "fe80::1%eth0", "fe80::1"),
    (RiskType.IP, "::ffff:203.0.113.7", "203.0.113.7"),  # as dual-stack servers log it
    (RiskType.DEVICE, "A1b2C3d4E5f6", "A1b2C3d4E5f6"),
]

INVALID = [
    (RiskType.EMAIL, "not-an-email"),
    (RiskType.EMAIL, "a@b"),
    (RiskType.EMAIL, "two@@example.com"),
    (RiskType.EMAIL, "sp ace@example.com"),
    (RiskType.EMAIL, ""),
    (RiskType.USERNAME, "   "),
    (RiskType.USERNAME, "two words"),
    (RiskType.USERNAME, "@"),
    (RiskType.USERNAME, "x" * 65),
    (RiskType.USERNAME, "zero\u200bwidth"),
    (RiskType.PHONE, "12345"),
    (RiskType.PHONE, "call me"),
    (RiskType.PHONE, "+999 1234 5678"),
    (RiskType.ADDRESS, "\t\n "),
    (RiskType.ADDRESS, "x" * 301),
    (RiskType.ADDRESS, "bell\x07street 1"),
    (RiskType.IP, "1.2.3"),
    (RiskType.IP, "256.1.1.1"),
    (RiskType.IP, "01.2.3.4"),
    (RiskType.IP, "example.com"),
    (RiskType.DEVICE, ""),
    (RiskType.DEVICE, "has space"),
    (RiskType.DEVICE, "d" * 257),
    (RiskType.DEVICE, "nul\x00byte"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), VALID)
def test_valid_values_normalise(kind: RiskType, raw: str, expected: str) -> None:
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), INVALID)
def test_invalid_values_are_refused(kind: RiskType, raw: str) -> None:
    assert normalize(kind, raw) is None


def test_every_type_has_valid_and_invalid_cases() -> None:
    assert {kind for kind, _, _ in VALID} == set(RiskType)
    assert {kind for kind, _ in INVALID} == set(RiskType)


def test_phone_default_region_applies_to_national_numbers() -> None:
    assert normalize(RiskType.PHONE, "(202) 555-0143", default_region="US") == "+12025550143"
    # The same digits are a Guangzhou landline when the default region is China.
    assert normalize(RiskType.PHONE, "(202) 555-0143", default_region="CN") == "+862025550143"


def test_oversized_raw_input_is_refused_before_parsing() -> None:
    assert normalize(RiskType.EMAIL, "a" * 600 + "@example.com") is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [("email", RiskType.EMAIL), ("IP", RiskType.IP), (" Device ", RiskType.DEVICE), ("mail", None)],
)
def test_parse_type(word: str, expected: RiskType | None) -> None:
    assert parse_type(word) is expected


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (RiskType.EMAIL, "john.doe@example.com", "j***@e***.com"),
        (RiskType.PHONE, "+8613800138000", "+86 *** **** 8000"),
        (RiskType.PHONE, "+12025550143", "+1 *** **** 0143"),
        (RiskType.PHONE, "+35312345678", "+353 *** **** 678"),
        (RiskType.PHONE, "+6834002", "+683 *** ****"),  # Niue: four digits in all
        (RiskType.IP, "203.0.113.7", "203.0.113.*"),
        (RiskType.IP, "2001:db8:85a3::8a2e:370:7334", "2001:db8:*"),
        (RiskType.USERNAME, "buyer_one", "b***e"),
        (RiskType.USERNAME, "abc", "***"),
        (RiskType.DEVICE, "A1b2C3d4E5f6", "A***6"),
        (RiskType.ADDRESS, "12 Baker Street, London", "12 ***"),
        (RiskType.ADDRESS, "北京市朝阳区建国路88号", "北京市 ***"),
        (RiskType.ADDRESS, "广东省广州市天河区", "广东省 ***"),
        (RiskType.ADDRESS, "Zhang Wei, 12 Baker Street", "***"),
        (RiskType.ADDRESS, "Zhang 12 Baker Street", "***"),
        (RiskType.ADDRESS, "张伟 北京市朝阳区建国路88号", "***"),
        (RiskType.ADDRESS, "张伟北京市朝阳区建国路88号", "***"),
        (RiskType.ADDRESS, "Иванов Иван, ул. Ленина 5", "***"),
        (RiskType.ADDRESS, "221B Baker Street", "221B ***"),
        (RiskType.ADDRESS, "SW1A 2AA London", "SW1A ***"),
        (RiskType.ADDRESS, "100020 北京市朝阳区", "100020 ***"),
        (RiskType.ADDRESS, "+8613800138000 Beijing", "***"),
    ],
)
def test_mask(kind: RiskType, value: str, masked: str) -> None:
    assert mask(kind, value) == masked


@pytest.mark.parametrize(("kind", "raw", "expected"), VALID)
def test_mask_never_shows_the_whole_value(kind: RiskType, raw: str, expected: str) -> None:
    masked = mask(kind, expected)
    assert expected not in masked
    assert "***" in masked or masked.endswith("*")


@pytest.mark.parametrize(
    "number", ["+8613800138000", "+12025550143", "+35312345678", "+29022158", "+6834002"]
)
def test_a_masked_phone_keeps_five_digits_hidden(number: str) -> None:
    value = normalize(RiskType.PHONE, number)
    assert value is not None
    country, _, shown = mask(RiskType.PHONE, value).partition(" *** ****")
    national = value.removeprefix(country)
    # Five digits stay hidden, or all of them in a plan shorter than that.
    assert len(shown.strip()) <= max(len(national) - 5, 0)


@given(kind=st.sampled_from(list(RiskType)), raw=st.text(max_size=400))
def test_normalize_and_mask_never_raise_and_stay_bounded(kind: RiskType, raw: str) -> None:
    value = normalize(kind, raw)
    if value is None:
        return
    assert value == value.strip()
    if kind in MAX_LENGTH:
        assert 0 < len(value) <= MAX_LENGTH[kind]
    masked = mask(kind, value)
    if len(value) >= 4:
        assert value not in masked


@pytest.mark.parametrize(
    ("args", "kind", "value"),
    [
        ("email Buyer@Example.com", RiskType.EMAIL, "buyer@example.com"),
        ("address 12 Baker Street,  London", RiskType.ADDRESS, "12 Baker Street, London"),
        ("IP   203.0.113.7 ", RiskType.IP, "203.0.113.7"),
        ("email\nbuyer@example.com", RiskType.EMAIL, "buyer@example.com"),
        ("email\tbuyer@example.com", RiskType.EMAIL, "buyer@example.com"),
        ("email\xa0buyer@example.com", RiskType.EMAIL, "buyer@example.com"),
        ("\nemail buyer@example.com", RiskType.EMAIL, "buyer@example.com"),
        ("phone", RiskType.PHONE, None),
        ("email not-an-email", RiskType.EMAIL, None),
        ("fax 123", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_request(args: str | None, kind: RiskType | None, value: str | None) -> None:
    request = parse_request(args)
    assert (request.kind, request.value) == (kind, value)
    assert request.valid == (value is not None)
