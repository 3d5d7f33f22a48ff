"""Settings: bad values stop the bot at start with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings, load_settings
from tests.bot_process import ROOT, bot_env

TOKEN = "123456:AAbbCCdd_ee-FF"
KEY = "cbk_live_k3y"


def settings(**values: object) -> Settings:
    return load_settings(**{"bot_token": TOKEN, "catbuy_api_key": KEY, **values}, _env_file=None)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"catbuy_api_key": "cbk k3y"}, "CATBUY_API_KEY"),
        ({"catbuy_api_key": "cbk_tеst"}, "CATBUY_API_KEY"),  # a Cyrillic е
        ({"catbuy_api_key": " \n"}, "CATBUY_API_KEY"),
        ({"bot_token": "123456:AA bb"}, "BOT_TOKEN"),
        ({"redis_url": "localhost:6379"}, "REDIS_URL"),
        ({"redis_url": "http://localhost:6379"}, "REDIS_URL"),
        ({"redis_url": "redis://"}, "REDIS_URL"),
        ({"redis_url": "redis://localhost:99999"}, "REDIS_URL"),
        ({"web_server_host": "999.999.1.1"}, "WEB_SERVER_HOST"),
        ({"web_server_host": "my host"}, "WEB_SERVER_HOST"),
        ({"catbuy_rps": "fast"}, "CATBUY_RPS"),
        ({"admin_ids": "12,abc"}, "ADMIN_IDS"),
        ({"buy_url_template": "https://buy.example/?u={link}"}, "BUY_URL_TEMPLATE"),
    ],
)
def test_a_bad_value_is_named_and_never_echoed(values: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    message = str(caught.value)
    assert message.startswith(f"{named} is invalid") and "\n" not in message
    if named in ("CATBUY_API_KEY", "BOT_TOKEN"):  # a secret must not land in a log
        assert all(part not in message for part in str(values[named.lower()]).split())


def test_blanks_around_secrets_kept_in_files_are_dropped() -> None:
    loaded = settings(catbuy_api_key=f" {KEY}\n", bot_token=f"{TOKEN}\n")
    assert loaded.catbuy_api_key.get_secret_value() == KEY
    assert loaded.bot_token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379/0", "rediss://user:pass@redis.internal:6380", "unix:///r.sock"]
)
def test_redis_urls_redis_py_takes_are_taken(url: str) -> None:
    assert settings(redis_url=url).redis_url == url


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "127.0.0.1", "bot.internal", "localhost"])
def test_hosts_to_listen_on(host: str) -> None:
    assert settings(web_server_host=host).web_server_host == host


def test_the_open_files_limit_is_lifted_towards_the_hard_one() -> None:
    script = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from bot.__main__ import raise_open_files_limit\n"
        "raise_open_files_limit(ceiling=4096)\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    soft, hard = (int(x) for x in result.stdout.split())
    assert soft == (4096 if hard < 0 else min(hard, 4096))


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_webhook_mode_without_a_secret_does_not_start(secret: str | None) -> None:
    values: dict[str, object] = {"webhook_url": "https://bot.example.com"}
    if secret is not None:
        values["webhook_secret"] = secret
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    message = str(caught.value)
    assert message.startswith("WEBHOOK_SECRET") and "\n" not in message
    assert "WEBHOOK_URL" in message


@pytest.mark.parametrize(
    "secret", ["has space", "x" * 257, "semi;colon", "ünïcode", "new\nline", "tab\tbed"]
)
def test_a_webhook_secret_telegram_would_refuse_is_named(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(webhook_url="https://bot.example.com", webhook_secret=secret)
    message = str(caught.value)
    assert message.startswith("WEBHOOK_SECRET is invalid") and "\n" not in message
    assert secret not in message


@pytest.mark.parametrize("secret", ["a", "A-z_09" * 40, "x" * 256])
def test_webhook_secrets_telegram_takes_are_taken(secret: str) -> None:
    loaded = settings(webhook_url="https://bot.example.com", webhook_secret=secret)
    assert loaded.webhook_secret is not None
    assert loaded.webhook_secret.get_secret_value() == secret


def test_polling_mode_needs_no_webhook_secret() -> None:
    assert settings().webhook_secret is None


def test_webhook_mode_without_a_secret_exits_2_with_one_line() -> None:
    env = bot_env(BOT_TOKEN=TOKEN, CATBUY_API_KEY=KEY, WEBHOOK_URL="https://bot.example.com")
    env.pop("WEBHOOK_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRET" in lines[0]


def test_agent_choice_is_on_unless_the_operator_has_a_buy_link() -> None:
    assert settings().agent_choice_on
    assert not settings(buy_url_template="https://buy.example/?u={url}").agent_choice_on
    assert settings(
        buy_url_template="https://buy.example/?u={url}", agent_choice="on"
    ).agent_choice_on
    assert not settings(agent_choice="off").agent_choice_on


def test_agent_referrals_are_agent_code_pairs() -> None:
    parsed = settings(agent_referrals=" KakoBuy=abc123, cnfans=4567 ")
    assert parsed.agent_referrals == {"kakobuy": "abc123", "cnfans": "4567"}
    for bad in ("kakobuy", "kakobuy=a&b=c", "kakobuy=<b>", "=abc"):
        with pytest.raises(ConfigError, match=r"^AGENT_REFERRALS is invalid"):
            settings(agent_referrals=bad)


def test_a_referral_for_an_agent_nobody_knows_stops_the_bot_at_start() -> None:
    from bot.app import check_agent_referrals

    check_agent_referrals(settings(agent_referrals="kakobuy=abc,litbuy=x"))
    with pytest.raises(ConfigError, match=r"^AGENT_REFERRALS is invalid: unknown agent 'kakobuyy'"):
        check_agent_referrals(settings(agent_referrals="kakobuyy=abc"))
