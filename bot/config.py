"""Settings: the one place the environment (and ``.env``) is read."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# What an HTTP header value can carry: printable ASCII, no blanks inside.
_API_KEY = re.compile(r"[!-~]+")
# A referral code goes into a URL as it is: letters, digits, ``_`` and ``-``.
_REFERRAL = re.compile(r"[A-Za-z0-9]{2,30}=[A-Za-z0-9_-]{1,64}")
_HOST_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")


class ConfigError(Exception):
    """Bad configuration, reported as one line naming the variable."""


class Settings(BaseSettings):
    """Every knob of the bot. The names and defaults of the documented variables
    (README, "Configuration") are the operator's interface: they do not change."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr
    catbuy_api_key: SecretStr
    catbuy_base_url: str = "https://services.catbuy.app/api/v1"
    telegram_api_url: str | None = None
    redis_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    catbuy_rps: float = Field(2.0, gt=0, le=10000)
    user_daily_quota: int = Field(50, ge=0)
    chat_daily_quota: int = Field(300, ge=0)
    daily_budget_requests: int = Field(1000, ge=0)
    risk_daily_budget: int = Field(100, ge=0)
    cache_ttl_seconds: int = Field(3600, ge=0)
    buy_url_template: str | None = None
    catbuy_timeout_seconds: float = Field(15.0, gt=0, le=300)
    breaker_cooldown_seconds: int = Field(300, ge=1)
    webhook_url: str | None = None
    webhook_path: str = "/webhook"
    webhook_secret: SecretStr | None = None
    web_server_host: str = "0.0.0.0"
    web_server_port: int = Field(8080, ge=1, le=65535)
    metrics_port: int | None = Field(None, ge=1, le=65535)
    # None: on unless BUY_URL_TEMPLATE is set (the operator's own button then rules).
    agent_choice: bool | None = None
    agent_referrals: Annotated[dict[str, str], NoDecode] = {}
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Settings of our own, beyond the documented interface.
    max_items_per_message: int = Field(3, ge=1, le=10)
    picker_ttl_seconds: int = Field(48 * 3600, ge=60)
    risk_repeat_seconds: int = Field(600, ge=0)
    phone_default_region: str = "CN"
    max_queue_wait_seconds: float = Field(20.0, gt=0)
    # Telegram allows ~1 message a second per chat, 20 a minute per group.
    telegram_send_interval: float = Field(1.0, ge=0)
    telegram_group_per_minute: int = Field(20, ge=1)
    # Interface locale → the upstream's ``searchlang``; unlisted locales get English.
    searchlang_map: Annotated[dict[str, str], NoDecode] = {
        "en": "en",
        "ru": "ru",
        "zh": "zh",
        "es": "es",
    }

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("searchlang_map", mode="before")
    @classmethod
    def _parse_searchlang_map(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        if not all(re.fullmatch(r"[a-z]{2,3}:[A-Za-z-]{2,10}", p) for p in pairs):
            raise ValueError("must look like en:en,ru:ru,zh:zh (locale:searchlang pairs)")
        return dict(p.split(":", 1) for p in pairs)

    @field_validator("agent_referrals", mode="before")
    @classmethod
    def _parse_agent_referrals(cls, value: object) -> object:
        """``kakobuy=abc123,cnfans=4567``; which agents exist is checked at start
        against the agent table (settings sit below it)."""
        if not isinstance(value, str):
            return value
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        if not all(_REFERRAL.fullmatch(p) for p in pairs):
            raise ValueError("must look like kakobuy=abc123,cnfans=4567 (agent=code pairs)")
        referrals = dict(p.split("=", 1) for p in pairs)
        return {agent.lower(): code for agent, code in referrals.items()}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    # Secrets kept in files often end in a newline: blanks around them are dropped.
    @field_validator("catbuy_api_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("must not be empty")
        if not _API_KEY.fullmatch(key):
            raise ValueError("must be printable ASCII without blanks (it is sent as a header)")
        return SecretStr(key)

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError("is not a Telegram bot token (digits:letters)")
        return SecretStr(token)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError("must name a host, e.g. redis://localhost:6379/0")
        return value

    @field_validator("web_server_host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            looks_numeric = bool(re.fullmatch(r"[0-9.]+", value))
            if looks_numeric or not _HOST_NAME.fullmatch(value):
                raise ValueError("must be an IP address or a host name") from None
        return value

    @field_validator("catbuy_base_url", "telegram_api_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be scheme, host and optional port only, no path")
        return value.rstrip("/")

    @field_validator("webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value().strip() if value is not None else ""
        if not secret:
            return None
        # Telegram refuses any other secret_token, and setWebhook would fail after start-up.
        if not _WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return SecretStr(secret)

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        # Without it anyone who finds the URL can post forged updates: a made-up
        # admin id runs paid risk checks, made-up user ids get round every quota.
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET is required in webhook mode (WEBHOOK_URL is set): "
                "set 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        return self

    @field_validator("buy_url_template")
    @classmethod
    def _check_buy_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            value.format(url="u", platform="p", id="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may use only the placeholders {url}, {platform} and {id}") from exc
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return value

    def searchlang(self, locale: str) -> str:
        """The language the upstream is asked for, for an interface locale."""
        return self.searchlang_map.get(locale, "en")

    @property
    def agent_choice_on(self) -> bool:
        """Whether shoppers and groups pick their shopping agent (``/agent``)."""
        if self.agent_choice is not None:
            return self.agent_choice
        return not self.buy_url_template

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise ``ConfigError`` with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings: its message names them
            raise ConfigError(message) from None
        name = str(error["loc"][0]).upper()
        if error["type"] == "missing":
            raise ConfigError(f"{name} is required but not set") from None
        raise ConfigError(f"{name} is invalid: {message}") from None
