"""The Telegram channel: the only part of the bot that imports python-telegram-bot."""

from bot.telegram_channel.app import (
    build_application,
    run_bot,
    start_application,
    stop_application,
)

__all__ = ["build_application", "run_bot", "start_application", "stop_application"]
