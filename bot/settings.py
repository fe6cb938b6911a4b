"""Settings from environment variables (optionally a `.env` file), validated once at start."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.faq.knowledge import Language

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    """Every setting of the bot; names match the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'bot.sqlite3'}"
    bot_data_key: str | None = Field(default=None, repr=False)
    bot_admin_chat_ids: Annotated[tuple[int, ...], NoDecode] = ()
    faq_dir: Path = Path("faq")
    faq_review_max_age_days: int = Field(default=365, ge=1)
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    lead_retention_days: int = Field(default=90, ge=1)
    booking_timeout_minutes: int = Field(default=30, ge=1)
    default_phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    staff_language: Language = "en"
    notify_retry_seconds: float = Field(default=5.0, gt=0)
    firm_timezone: str = "America/Los_Angeles"
    flood_limit_per_minute: int = Field(default=20, ge=1)
    telegram_messages_per_second: float = Field(default=30, ge=0)
    log_format: Literal["text", "json"] = "text"
    relay_hours: int = Field(default=48, ge=1)
    urgent_reminder_minutes: int = Field(default=10, ge=1)
    open_leads_digest_hours: int = Field(default=24, ge=1)
    web_listen: str = "127.0.0.1"
    # `run` serves the web chat only when this is set; `web` serves it on 8080 without it.
    web_port: int | None = Field(default=None, ge=1, le=65535)
    web_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # The proxies whose X-Forwarded-For names the visitor (the web chat's per-address limit
    # counts that address); a request from anywhere else is counted by its own address.
    web_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1", "::1")
    # Where "Quick exit" leaves for: an ordinary page that says nothing about the firm.
    web_quick_exit_url: str = "https://www.google.com/search?q=weather"

    @field_validator("bot_admin_chat_ids", mode="before")
    @classmethod
    def _parse_chat_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("web_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    @field_validator("web_allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin (such as https://www.example.org)")
        return value

    @field_validator("web_trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("web_trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or network (such as 10.0.0.0/8)"
                ) from None
        return value

    @field_validator("web_quick_exit_url")
    @classmethod
    def _exit_is_a_web_page(cls, value: str) -> str:
        scheme, _, rest = value.partition("://")
        if scheme != "https" or not rest.split("/")[0]:
            raise ValueError(f"{value!r} is not an https:// address (such as https://www.bbc.com)")
        return value

    @field_validator("firm_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name such as America/Los_Angeles)"
            ) from None
        return value


def load_settings() -> Settings:
    """Read the settings from the environment and `.env`."""
    return Settings()
