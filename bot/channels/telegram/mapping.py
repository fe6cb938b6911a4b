"""Telegram updates in, plain values out; plain replies in, Telegram message arguments out."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode

from bot.dialogue import (
    ButtonPress,
    Command,
    Event,
    OtherMessage,
    Reply,
    SharedContact,
    TextMessage,
)
from bot.host.turns import Incoming
from bot.staff.cards import StaffPost

_ATTACHMENT_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "venue",
    "poll",
    "dice",
    "game",
    "story",
)


def to_incoming(update: Update) -> Incoming | None:
    """Reduce an update to plain values, or None when there is nothing to answer."""
    incoming = _to_incoming(update)
    if incoming is None:
        return None
    return replace(incoming, update_id=update.update_id)


def _to_incoming(update: Update) -> Incoming | None:
    user = update.effective_user
    language_code = user.language_code if user else None
    user_id = user.id if user else None
    # Named on the requests a staff member takes; never logged.
    sender = user.full_name if user else None
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None:
            return None
        chat = message.chat
        data = query.data or ""
        # A tap's name is the message and the button: the state keeps it as it always has.
        event: Event = ButtonPress(data, tap=f"{message.message_id}:{data}")
        return Incoming(
            chat.id,
            user_id,
            language_code,
            event,
            chat.type == ChatType.PRIVATE,
            sender_name=sender,
        )
    if update.edited_message is not None:
        chat = update.edited_message.chat
        return Incoming(
            chat.id, user_id, language_code, OtherMessage("edited"), chat.type == ChatType.PRIVATE
        )
    message = update.message
    if message is None:
        return None
    replied = message.reply_to_message
    return Incoming(
        message.chat.id,
        user_id,
        language_code,
        _message_event(message, user_id),
        message.chat.type == ChatType.PRIVATE,
        message_id=message.message_id,
        reply_to=replied.message_id if replied is not None else None,
        sender_name=sender,
    )


def _message_event(message: Message, user_id: int | None) -> Event:
    if message.text is not None:
        # Telegram delivers at most MAX_TEXT_LENGTH characters by polling; a webhook body can
        # claim more, and both paths keep the same.
        text = message.text[: MessageLimit.MAX_TEXT_LENGTH]
        if text.startswith("/") and len(text) > 1:
            head, _, argument = text[1:].partition(" ")
            name = head.split("@", 1)[0].lower()
            if name:
                return Command(name, argument.strip())
        return TextMessage(text)
    if message.contact is not None:
        contact = message.contact
        is_own = contact.user_id is not None and contact.user_id == user_id
        return SharedContact(contact.phone_number, is_own)
    for kind in _ATTACHMENT_KINDS:
        if getattr(message, kind, None):
            return OtherMessage(kind)
    return OtherMessage("other")


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split `text` into pieces Telegram accepts, at line breaks where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()] or ["…"]


def outgoing_messages(reply: Reply) -> list[dict[str, Any]]:
    """Return the sendMessage arguments (text escaped as HTML) that show one reply.

    One call per reply: a message carries one keyboard, and the dialogue never asks for the
    "share my phone number" keyboard to be removed by a reply that has buttons of its own.
    """
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None
    if reply.request_contact:
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(reply.request_contact, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    elif reply.buttons:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(button.label, callback_data=button.data)]
                for button in reply.buttons
            ]
        )
    elif reply.remove_keyboard:
        markup = ReplyKeyboardRemove()
    messages: list[dict[str, Any]] = [
        {"text": html.escape(piece, quote=False), "parse_mode": ParseMode.HTML}
        for piece in split_text(reply.text)
    ]
    if markup is not None:
        messages[-1]["reply_markup"] = markup
    return messages


def staff_message(
    post: StaffPost, *, reply_to: int | None = None, ask: bool = False
) -> dict[str, Any]:
    """The sendMessage (or editMessageText) arguments of a staff-chat message: its buttons in
    rows, threaded under `reply_to`, or (`ask`) inviting a reply."""
    arguments: dict[str, Any] = {
        "text": html.escape(split_text(post.text)[0], quote=False),
        "parse_mode": ParseMode.HTML,
    }
    if post.keyboard:
        arguments["reply_markup"] = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(button.label, callback_data=button.data) for button in row]
                for row in post.keyboard
            ]
        )
    elif ask:
        arguments["reply_markup"] = ForceReply(selective=False)
    if reply_to is not None:
        arguments["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
    return arguments
