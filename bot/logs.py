"""Logging that never carries a token, a name, a phone number, an email or message text."""

from __future__ import annotations

import logging

# Libraries that log secrets or people's words below these levels: httpx logs every request
# URL (with the bot token) at INFO; python-telegram-bot logs whole requests and updates at
# DEBUG; aiosqlite logs every statement with its parameters at DEBUG.
_LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "asyncpg": logging.WARNING,
    "tornado": logging.WARNING,
}


def quiet_library_loggers() -> None:
    """Raise the level of the libraries' loggers, whatever the root level is."""
    for name, level in _LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr with times, libraries kept quiet."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_library_loggers()
