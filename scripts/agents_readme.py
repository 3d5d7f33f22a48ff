"""The README's list of supported shopping agents, generated from the agent table.

``python -m scripts.agents_readme`` rewrites the block between the
``<!-- agents:start -->`` and ``<!-- agents:end -->`` markers of README.md;
``python -m scripts.agents_readme check`` fails when the block is stale (a
test runs it too), so the README cannot drift from ``bot/links/agent_table.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.items.item import Platform
from bot.links.agent_forms import Agent, PathItem, QueryItem, WrappedUrl
from bot.links.agents import AGENTS

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- agents:start -->"
END = "<!-- agents:end -->"
_SHORT = {
    Platform.TAOBAO: "Taobao",
    Platform.TMALL: "Tmall",
    Platform.ALI1688: "1688",
    Platform.WEIDIAN: "Weidian",
}


def _forms(agent: Agent) -> str:
    kinds = []
    for form in agent.forms:
        if isinstance(form, WrappedUrl):
            kind = f"`{form.param}=` URL" + (" (double-encoded)" if form.encodings > 1 else "")
        elif isinstance(form, QueryItem):
            kind = f"`{form.platform_param}=` + `{form.id_param}=`"
        elif isinstance(form, PathItem):
            kind = "path " + "`" + form.template.split("/", 3)[-1].split("?")[0] + "`"
        kinds.append(kind if form.writes else f"{kind} (read)")
    return "; ".join(dict.fromkeys(kinds))


def _row(agent: Agent) -> str:
    hosts = ", ".join(f"`{host}`" for host in agent.hosts)
    if agent.short_hosts:
        hosts += "; short links " + ", ".join(f"`{host}`" for host in agent.short_hosts)
    written = [name for platform, name in _SHORT.items() if platform in agent.platforms]
    if Platform.TMALL not in agent.platforms and Platform.TAOBAO in agent.platforms:
        written[written.index("Taobao")] = "Taobao (+Tmall)"
    referral = f"`{agent.referral}`" if agent.referral else "—"
    popular = " ★" if agent.popular else ""
    return (
        f"| {agent.name}{popular} | {hosts} | {_forms(agent)} | {', '.join(written)} | {referral} |"
    )


def agents_block() -> str:
    lines = [
        START,
        f'{len(AGENTS)} agents; ★ marks those offered under "Other agents".',
        "",
        "| agent | hosts (and subdomains) | link forms | written for | referral parameter |",
        "|---|---|---|---|---|",
        *(_row(agent) for agent in sorted(AGENTS, key=lambda a: a.name.lower())),
        END,
    ]
    return "\n".join(lines)


def rewritten(readme: str) -> str:
    """``readme`` with its agents block generated afresh."""
    start, end = readme.index(START), readme.index(END) + len(END)
    return readme[:start] + agents_block() + readme[end:]


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    fresh = rewritten(text)
    if argv[1:2] == ["check"]:
        if fresh != text:
            print("README.md: the agents list is stale; run python -m scripts.agents_readme")
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
