"""`python -m bot web`: the host with the web chat alone, no Telegram."""

from __future__ import annotations

import asyncio
import signal

from bot.channels.web import WebChannel
from bot.host.runtime import Startup
from bot.host.services import Host
from bot.metrics import Metrics
from bot.settings import Settings

DEFAULT_WEB_PORT = 8080


def build_web_host(
    settings: Settings, startup: Startup, channel: WebChannel | None = None
) -> Host:
    """The host serving the web chat on WEB_LISTEN:WEB_PORT (8080 by default)."""
    port = settings.web_port if settings.web_port is not None else DEFAULT_WEB_PORT
    return Host(
        settings,
        startup,
        metrics=Metrics(),
        channels=[channel or WebChannel(settings)],
        serve=(settings.web_listen, port),
    )


async def serve_web(settings: Settings, startup: Startup) -> None:
    """Serve the web chat until SIGINT or SIGTERM."""
    host = build_web_host(settings, startup)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stopping.set)
    await host.open()
    try:
        await stopping.wait()
    finally:
        await host.close()
