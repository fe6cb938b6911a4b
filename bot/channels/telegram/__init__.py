"""The Telegram channel: the only part of the bot that imports python-telegram-bot."""

import os

# Time periods as `timedelta` (python-telegram-bot's opt-in to its next major version), read
# when an attribute such as `RetryAfter.retry_after` is used.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.channels.telegram.app import build_application, start_application, stop_application
from bot.channels.telegram.serve import TelegramStartError, run_bot

__all__ = [
    "TelegramStartError",
    "build_application",
    "run_bot",
    "start_application",
    "stop_application",
]
