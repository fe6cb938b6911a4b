"""The host: owns the process (the runtime, the database, the staff notifier, the periodic jobs
and the one HTTP server), and drives the channels at its edge (Telegram, the web chat)."""

from bot.host.server import (
    HEADER_TIMEOUT,
    BodyTooLargeError,
    HttpServer,
    build_host_app,
    protocol_with_header_timeout,
    read_capped_body,
)
from bot.host.services import Channel, Host

__all__ = [
    "HEADER_TIMEOUT",
    "BodyTooLargeError",
    "Channel",
    "Host",
    "HttpServer",
    "build_host_app",
    "protocol_with_header_timeout",
    "read_capped_body",
]
