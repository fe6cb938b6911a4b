"""A chat's address: the channel it is on and its id there.

Telegram's chats keep the keys they always had (`chat:<id>`), so no stored key changes; any
other channel's chats are named with the channel first, so that a web chat can never share a
key with a Telegram chat of the same number.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["telegram", "web", "console"]
TELEGRAM: Channel = "telegram"
WEB: Channel = "web"
CONSOLE: Channel = "console"
CHANNELS: tuple[Channel, ...] = (TELEGRAM, WEB, CONSOLE)


def key_material(kind: str, channel: Channel, chat_id: int) -> str:
    """The text hashed into a chat's or a person's key (`kind` is "chat" or "user")."""
    if channel == TELEGRAM:
        return f"{kind}:{chat_id}"
    return f"{channel}:{kind}:{chat_id}"


def encode_chat(channel: Channel, chat_id: int) -> str:
    """The address as stored (encrypted) with a request: a bare number for Telegram."""
    return str(chat_id) if channel == TELEGRAM else f"{channel}:{chat_id}"


def parse_chat(stored: str) -> tuple[Channel, int]:
    """The address stored as `stored` by `encode_chat`."""
    name, _, number = stored.rpartition(":")
    channel = next((known for known in CHANNELS if known == name), TELEGRAM)
    if name and channel == TELEGRAM:
        raise ValueError("an unknown channel")
    return channel, int(number)
