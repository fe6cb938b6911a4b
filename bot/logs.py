"""Logging that never carries a token, a name, a phone number, an email or message text.

One line per event, as text or (`LOG_FORMAT=json`) as one JSON object, carrying the update
being handled and a keyed hash of its chat (never the chat id), set with `log_context`.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

# Libraries that log secrets or people's words below these levels: httpx logs every request
# URL (with the bot token) at INFO; python-telegram-bot logs whole requests and updates at
# DEBUG; aiosqlite logs every statement with its parameters at DEBUG; uvicorn's access log
# names paths and clients.
_LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "asyncpg": logging.WARNING,
    "alembic": logging.WARNING,
    "uvicorn.access": logging.WARNING,
}
# python-telegram-bot's own webhook server logs a body it cannot parse; nothing of a body may
# reach the logs.
_BODY_LOGGERS = ("telegram.ext._utils.webhookhandler", "telegram.ext.Updater")

_update: contextvars.ContextVar[int | None] = contextvars.ContextVar("update", default=None)
_chat: contextvars.ContextVar[str | None] = contextvars.ContextVar("chat", default=None)


@contextmanager
def log_context(*, update: int | None, chat: str | None) -> Iterator[None]:
    """Tag the log lines written meanwhile with an update id and a chat's keyed hash."""
    update_token = _update.set(update)
    chat_token = _chat.set(chat[:8] if chat else None)
    try:
        yield
    finally:
        _update.reset(update_token)
        _chat.reset(chat_token)


class _Context(logging.Filter):
    """Adds the update and chat being handled to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.update = _update.get()
        record.chat = _chat.get()
        return True


class _NoBodies(logging.Filter):
    """Keeps log lines about unreadable webhook bodies, without the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "body" in message.lower() or "json" in message.lower():
            record.msg = "a webhook request body could not be read (not logged)"
            record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update, chat, error type."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("update", "chat"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def quiet_library_loggers() -> None:
    """Raise the level of the libraries' loggers, whatever the root level is."""
    for name, level in _LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, _NoBodies) for existing in logger.filters):
            logger.addFilter(_NoBodies())


def configure_logging(level: int = logging.INFO, *, log_format: str = "text") -> None:
    """Log to stderr, one line per event (text or JSON), libraries kept quiet."""
    handler = logging.StreamHandler()
    handler.addFilter(_Context())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [update=%(update)s chat=%(chat)s]: %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    quiet_library_loggers()
