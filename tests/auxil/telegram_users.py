"""Factories for Telegram updates, as the fake server hands them to the bot."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.auxil.fake_bot_api import BOT_USER, SentMessage


@dataclass(frozen=True)
class TelegramUser:
    """A person writing to the bot in a private chat (chat id == user id)."""

    id: int
    first_name: str
    language_code: str | None = "en"

    def as_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


# Named people used across the tests. Their names and numbers are test data, not real people.
ANA = TelegramUser(5550001, "Ana", "es")
BEN = TelegramUser(5550002, "Ben", "en")
CARLA = TelegramUser(5550003, "Carla", None)
STAFF_CHAT_ID = -100777


def _message(user: TelegramUser, message_id: int, **content: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": user.chat(),
        "from": user.as_json(),
        **content,
    }


def make_text_update(user: TelegramUser, message_id: int, text: str) -> dict[str, Any]:
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return {"message": _message(user, message_id, **content)}


def make_contact_update(
    user: TelegramUser, message_id: int, phone: str, owner_id: int | None
) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Someone"}
    if owner_id is not None:
        contact["user_id"] = owner_id
    return {"message": _message(user, message_id, contact=contact)}


def make_sticker_update(user: TelegramUser, message_id: int) -> dict[str, Any]:
    sticker = {
        "file_id": "sticker-1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return {"message": _message(user, message_id, sticker=sticker)}


def make_location_update(user: TelegramUser, message_id: int) -> dict[str, Any]:
    return {
        "message": _message(user, message_id, location={"latitude": 34.05, "longitude": -118.24})
    }


def make_edited_update(user: TelegramUser, message_id: int, text: str) -> dict[str, Any]:
    edited = _message(user, message_id, text=text)
    edited["edit_date"] = int(time.time())
    return {"edited_message": edited}


def make_callback_update(
    user: TelegramUser, pressed_on: SentMessage, data: str, query_id: str
) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": query_id,
            "from": user.as_json(),
            "chat_instance": f"ci-{user.id}",
            "data": data,
            "message": {
                "message_id": pressed_on.message_id,
                "date": int(time.time()),
                "chat": user.chat(),
                "text": pressed_on.text,
            },
        }
    }


def make_group_command_update(
    chat_id: int, user: TelegramUser, message_id: int, text: str
) -> dict[str, Any]:
    return {
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup", "title": "Firm staff"},
            "from": user.as_json(),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}],
        }
    }


# Members of the firm's staff group.
MARIA = TelegramUser(7770001, "Maria", "en")
LUIS = TelegramUser(7770002, "Luis", "es")


def _group_message(chat_id: int, user: TelegramUser, message_id: int) -> dict[str, Any]:
    # A staff chat is a group, or a staff member's own private chat (whose id is theirs).
    chat = (
        user.chat()
        if chat_id == user.id
        else {"id": chat_id, "type": "supergroup", "title": "Firm staff"}
    )
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": user.as_json(),
    }


def make_staff_reply_update(
    chat_id: int, user: TelegramUser, message_id: int, text: str, replying_to: SentMessage
) -> dict[str, Any]:
    """A staff member answering one of the bot's messages with Telegram's reply."""
    message = _group_message(chat_id, user, message_id)
    message["text"] = text
    message["reply_to_message"] = {
        **_group_message(chat_id, user, replying_to.message_id),
        "from": BOT_USER,
        "text": replying_to.text,
    }
    return {"message": message}


def make_staff_callback_update(
    chat_id: int, user: TelegramUser, pressed_on: SentMessage, data: str, query_id: str
) -> dict[str, Any]:
    """A staff member pressing a button under one of the bot's messages in a group."""
    return {
        "callback_query": {
            "id": query_id,
            "from": user.as_json(),
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                **_group_message(chat_id, user, pressed_on.message_id),
                "text": pressed_on.text,
            },
        }
    }
