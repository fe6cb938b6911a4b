"""The chat on the firm's website: a channel of the host (routes under /chat)."""

from bot.channels.web.channel import WebChannel
from bot.channels.web.limits import WebLimits

__all__ = ["WebChannel", "WebLimits"]
