"""Presentation of risk checks: the risk card, the usage text, short failure messages.

Everything here is HTML (the bot's parse mode) with upstream and user text
escaped. The card shows the *masked* value, not the one typed: the admin's
own message sits right above the answer, and a card that gets forwarded or
screenshotted then carries no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n.formatting import format_count, format_moment, format_money
from bot.risk.audit import AuditRecord
from bot.risk.service import OutcomeKind, RiskOutcome
from bot.risk.storage import CHECK_PRICE
from bot.risk.values import RiskType

BAR_CELLS = 10
MAX_DETAILS = 10
MAX_KEY = 40
MAX_TEXT = 200


def _bounded(text: object, limit: int = MAX_TEXT) -> str:
    """Escaped and cut to ``limit`` characters (before escaping, so entities stay whole)."""
    raw = " ".join(str(text).split())
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return escape(raw)


def score_bar(score: int) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 30/100``; the score is clamped to 0–100."""
    score = min(max(int(score), 0), 100)
    filled = (score + 5) // 10
    return "▰" * filled + "▱" * (BAR_CELLS - filled) + f" {score}/100"


def category_words(category: str | None) -> str:
    """A category in words; unknown ones humanised (``risky_wallet`` → "Risky wallet")."""
    known = {
        "chargeback_user": _("Chargeback user"),
        "risky_ip": _("Risky IP address"),
        "risky_email": _("Risky email"),
        "risky_phone": _("Risky phone number"),
        "risky_address": _("Risky address"),
        "risky_device": _("Risky device"),
        "risky_username": _("Risky username"),
        "none": _("None"),
    }
    if not category:
        return _("None")
    if category in known:
        return known[category]
    words = " ".join(category.replace("_", " ").replace("-", " ").split())
    return _bounded(words[:1].upper() + words[1:], MAX_KEY) if words else _("None")


def type_words(kind: RiskType) -> str:
    """A risk type in words."""
    return {
        RiskType.EMAIL: _("Email"),
        RiskType.USERNAME: _("Username"),
        RiskType.PHONE: _("Phone"),
        RiskType.ADDRESS: _("Address"),
        RiskType.IP: _("IP address"),
        RiskType.DEVICE: _("Device"),
    }[kind]


def risk_card(kind: RiskType, outcome: RiskOutcome) -> str:
    """The answer to a check that got a verdict."""
    verdict = outcome.verdict
    if verdict is None:
        return failure_text(outcome)
    head = (
        "🚫 <b>" + _("Blacklisted") + "</b>"
        if verdict.blacklisted
        else "✅ <b>" + _("Clean") + "</b>"
    )
    lines = [
        head,
        f"{type_words(kind)}: <code>{escape(outcome.masked)}</code>",
        _("Risk score") + f": {score_bar(verdict.risk_score)}",
        _("Category") + f": {category_words(verdict.category)}",
    ]
    if verdict.match_type:
        lines.append(_("Match type") + f": {_bounded(verdict.match_type, MAX_KEY)}")
    if verdict.first_seen:
        lines.append(_("First seen") + f": {_bounded(verdict.first_seen, MAX_KEY)}")
    if verdict.reason:
        lines.append(_("Reason") + f": {_bounded(verdict.reason)}")
    lines.extend(_details(verdict.details))
    lines.append(_cost_line(outcome, verdict.cost))
    return "\n".join(lines)


def _details(details: Mapping[str, object] | None) -> list[str]:
    if not details:
        return []
    items = list(details.items())
    lines = [_("Details") + ":"]
    lines += [
        f"• {_bounded(key, MAX_KEY)}: {_bounded(value)}" for key, value in items[:MAX_DETAILS]
    ]
    if len(items) > MAX_DETAILS:
        more = format_count(len(items) - MAX_DETAILS)
        lines.append("• " + _("…and {count} more").format(count=more))
    return lines


def _cost_line(outcome: RiskOutcome, quoted: Decimal | None) -> str:
    if outcome.cached:
        return "💾 " + _("From cache, no charge")
    return _("Cost") + f": {money(outcome.cost if outcome.cost is not None else quoted)}"


def money(amount: Decimal | None) -> str:
    """``$0.03`` (``0,03 $`` in Russian); a missing cost is the documented price."""
    value = amount if amount is not None else CHECK_PRICE
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 2
    return format_money(value, "USD", 2 if value >= 1 else max(places, 2))


def usage_text(region: str = "CN") -> str:
    """How to use /risk, with an example for every type."""
    examples = [
        "/risk email buyer@example.com",
        "/risk username buyer_123",
        "/risk phone +86 138 0013 8000",
        "/risk address 12 Baker Street, London",
        "/risk ip 203.0.113.7",
        "/risk device 3f9a1c2b7d4e",
    ]
    return "\n".join(
        [
            _("Usage: {command}").format(command="<code>/risk &lt;type&gt; &lt;value&gt;</code>"),
            _("Types: email, username, phone, address, ip, device. Examples:"),
            *(f"<code>{escape(example)}</code>" for example in examples),
            _("Phone numbers without a +country code are read as {region} numbers.").format(
                region=escape(region)
            ),
            _("Each check costs {price}; repeating a recent check is free.").format(
                price=money(CHECK_PRICE)
            ),
        ]
    )


def invalid_value_text(kind: RiskType | None, region: str) -> str:
    """The usage text, led by what was wrong."""
    lead = (
        _("Unknown or missing type.")
        if kind is None
        else _("That is not a valid value for {type}.").format(type=f"<code>{kind.value}</code>")
    )
    return lead + "\n\n" + usage_text(region)


def failure_text(outcome: RiskOutcome) -> str:
    """A short message for a check that got no verdict."""
    if outcome.kind is OutcomeKind.BUDGET_EXHAUSTED:
        return _("Today's risk check budget is used up. It resets at 00:00 UTC.")
    if outcome.kind is OutcomeKind.BREAKER_OPEN:
        return _(
            "Paid checks are paused for a few minutes (CatBuy account problem). Try again later."
        )
    if outcome.kind is OutcomeKind.BUSY:
        return _("The checker is busy right now. Try again in a minute.")
    if outcome.kind is OutcomeKind.TIMEOUT:
        return _("The risk checker took too long to answer. Try again later.")
    if outcome.kind is OutcomeKind.STORE_DOWN:
        return _("Risk checks are unavailable right now. Try again later.")
    return _("The risk checker could not answer. Try again later.")


def refusal_text() -> str:
    """To a non-admin."""
    return _("Risk checks are for admins only.")


def private_only_text() -> str:
    """In a group: never echo the value."""
    return _("Risk checks work only in a private chat with me.")


def risk_log_text(records: list[AuditRecord]) -> str:
    """``/risklog``: the latest audit records, newest first."""
    if not records:
        return _("No risk checks yet.")
    title = ngettext("Last {count} risk check", "Last {count} risk checks", len(records))
    lines = ["<b>" + title.format(count=len(records)) + "</b>"]
    results = _result_words()
    for record in records:
        score = f" {record.score}/100" if record.score is not None else ""
        cached = " 💾" if record.cached else ""
        result = results.get(record.result) or escape(record.result)
        lines.append(
            f"{format_moment(record.at)} UTC · {record.admin_id} · {record.kind.value} "
            f"<code>{escape(record.masked)}</code> · {result}{score}{cached}"
        )
    return "\n".join(lines)


def _result_words() -> dict[str, str]:
    """How a check ended, in words: the audit keeps a verdict or an outcome's kind."""
    return {
        "blacklisted": _("blacklisted"),
        "clean": _("clean"),
        OutcomeKind.BUDGET_EXHAUSTED.value: _("not checked: budget used up"),
        OutcomeKind.BREAKER_OPEN.value: _("not checked: paid checks paused"),
        OutcomeKind.BUSY.value: _("not checked: busy"),
        OutcomeKind.UPSTREAM_ERROR.value: _("no answer from the checker"),
        OutcomeKind.TIMEOUT.value: _("timed out"),
        OutcomeKind.STORE_DOWN.value: _("not checked: store unreachable"),
    }
