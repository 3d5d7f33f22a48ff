"""The values an admin may screen with ``/risk``: their types, validation and masking.

A checked value is personal data. It is normalised once, here, so that the
upstream, the repeat cache and the audit log all see the same form, and it
is masked here before it reaches a log line, the audit stream or the chat.

Case: e-mail addresses and usernames are lower-cased (mail domains are
case-insensitive and mailbox and marketplace usernames are in practice; one
form makes repeat checks hit the cache). Device fingerprints keep their case
(they are often base64, where case matters) and so do addresses (they are
shown back masked, and the upstream's matching of them is not documented).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class RiskType(StrEnum):
    """What kind of identifier a risk check screens (the upstream's ``type``)."""

    EMAIL = "email"
    USERNAME = "username"
    PHONE = "phone"
    ADDRESS = "address"
    IP = "ip"
    DEVICE = "device"


# Upper bounds for the free-text types: long enough for real values, short
# enough that nobody pays for a pasted paragraph.
MAX_LENGTH = {RiskType.USERNAME: 64, RiskType.DEVICE: 256, RiskType.ADDRESS: 300}
# Raw input longer than this is refused before any parsing library sees it.
MAX_RAW_LENGTH = 512

_WHITESPACE = re.compile(r"\s+")
# Control, format (zero-width), surrogate, private-use and unassigned
# characters: invisible ones would let the same value dodge the cache.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
MASK = "***"


def parse_type(word: str) -> RiskType | None:
    """The risk type an admin typed (any case), or None for an unknown word."""
    try:
        return RiskType(word.strip().lower())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RiskRequest:
    """What an admin asked for: ``kind`` None for a missing or unknown type,
    ``value`` None when the value is missing or not valid for the type."""

    kind: RiskType | None
    value: str | None

    @property
    def valid(self) -> bool:
        return self.kind is not None and self.value is not None


def parse_request(args: str | None, *, default_region: str = "CN") -> RiskRequest:
    """Read ``<type> <value>``; the value is the rest (addresses have spaces).

    Any blank parts them: a line break, a tab, a no-break space from a web page.
    """
    word, rest = [*(args or "").split(None, 1), "", ""][:2]
    kind = parse_type(word) if word else None
    if kind is None:
        return RiskRequest(None, None)
    return RiskRequest(kind, normalize(kind, rest, default_region=default_region))


def normalize(kind: RiskType, raw: str, *, default_region: str = "CN") -> str | None:
    """The canonical form of ``raw`` as a ``kind``, or None when it is not valid.

    ``default_region`` is the region assumed for phone numbers written
    without a ``+country`` prefix.
    """
    if len(raw) > MAX_RAW_LENGTH:
        return None
    value = raw.strip()
    if not value:
        return None
    if kind is RiskType.EMAIL:
        return _email(value)
    if kind is RiskType.PHONE:
        return _phone(value, default_region)
    if kind is RiskType.IP:
        return _ip(value)
    return _text(kind, value)


def _email(value: str) -> str | None:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def _phone(value: str, default_region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, default_region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _ip(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        # Dual-stack servers log IPv4 clients as ::ffff:203.0.113.7: one person.
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped.compressed
        # Scope ids (fe80::1%eth0) name the checker's own interface, not the person.
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address.compressed


def _text(kind: RiskType, value: str) -> str | None:
    # NFKC folds full-width and compatibility forms, so "ａｂｃ" and "abc"
    # are one value for the cache and the upstream.
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    if not text or len(text) > MAX_LENGTH[kind]:
        return None
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text):
        return None
    if kind is RiskType.USERNAME:
        # Admins paste handles as "@name"; the "@" is not part of the name.
        text = text.removeprefix("@").lower()
        if not text or " " in text:
            return None
    if kind is RiskType.DEVICE and " " in text:
        return None
    return text


def mask(kind: RiskType, value: str) -> str:
    """A form of a normalised value safe for logs, the audit log and the chat.

    ``j***@e***.com``, ``+86 *** **** 1234``, ``203.0.113.*``,
    ``2001:db8:*``, ``a***z``, ``12 ***``, ``北京市 ***``; names never show.
    """
    if kind is RiskType.EMAIL:
        return _mask_email(value)
    if kind is RiskType.PHONE:
        return _mask_phone(value)
    if kind is RiskType.IP:
        return _mask_ip(value)
    if kind is RiskType.ADDRESS:
        return _mask_address(value)
    return _mask_ends(value)


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    masked_domain = f"{domain[:1]}{MASK}" + (f".{tld}" if tld else "")
    return f"{local[:1]}{MASK}@{masked_domain}"


def _mask_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return MASK
    national = str(phonenumbers.national_significant_number(number))
    # The last four digits, but five at least stay hidden: some plans are short.
    shown = min(4, len(national) - 5)
    tail = f" {national[-shown:]}" if shown > 0 else ""
    return f"+{number.country_code} {MASK} ****{tail}"


def _mask_ip(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return MASK
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".*"
    groups = address.exploded.split(":")[:2]
    return ":".join(format(int(group, 16), "x") for group in groups) + ":*"


def _mask_ends(value: str) -> str:
    # Below four characters the two ends would be most of the value.
    if len(value) < 4:
        return MASK
    return f"{value[0]}{MASK}{value[-1]}"


# What an address may show: a house number or postcode as its first word, or
# the Chinese province it starts with. Neither names a person.
_HOUSE_NUMBER = re.compile(r"[0-9][0-9A-Za-z/-]{0,5}|[A-Za-z]{1,2}[0-9][0-9A-Za-z]{0,3}")
_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|"
    "湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
_REGION = re.compile(
    rf"(?:{_PROVINCES})(?:省|市|特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区)?"
)


def _mask_address(value: str) -> str:
    # The first word is often the addressee ("Zhang Wei, 12 Baker Street",
    # "张伟 北京市…"), so it shows only when it is a house number or a
    # postcode; an address written without spaces shows only the province it
    # starts with. Anything else is masked whole.
    first = value.split(" ", 1)[0].rstrip(",")
    if _HOUSE_NUMBER.fullmatch(first):
        return f"{first} {MASK}"
    region = _REGION.match(value)
    if region is not None and len(region.group()) < len(value):
        return f"{region.group()} {MASK}"
    return MASK
