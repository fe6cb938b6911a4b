"""The replies a chat is owed: decided in a turn (or relayed from the staff), stored encrypted
with it, and forgotten only once delivered."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from bot.chats import TELEGRAM, Channel
from bot.dialogue import Reply
from bot.storage.store import Unit


@dataclass(frozen=True, slots=True)
class Outbox:
    """Replies of one chat waiting to be delivered, in order, by the chat's channel (outboxes
    stored before there was more than one channel are Telegram's)."""

    chat_id: int
    replies: tuple[Reply, ...]
    channel: Channel = TELEGRAM


_OUTBOX = TypeAdapter(Outbox)


def encode_outbox(outbox: Outbox) -> str:
    """The outbox as JSON text (stored encrypted)."""
    return _OUTBOX.dump_json(outbox).decode("utf-8")


def decode_outbox(stored: str) -> Outbox:
    """The outbox stored as `stored`."""
    return _OUTBOX.validate_json(stored)


async def owe(unit: Unit, chat_key: str, channel: Channel, chat_id: int, reply: Reply) -> None:
    """Add a reply to those a chat is owed, in the transaction of `unit` (its row locked)."""
    row = await unit.lock_chat(chat_key)
    earlier = decode_outbox(row.outbox).replies if row.outbox else ()
    await unit.set_outbox(chat_key, encode_outbox(Outbox(chat_id, (*earlier, reply), channel)))
