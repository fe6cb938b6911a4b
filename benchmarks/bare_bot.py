"""A bare python-telegram-bot bot holding the same conversation as faqbot, from memory.

The reference of `benchmarks/load.py`: the same replies (the FAQ's own answer texts, the same
prompts and buttons), the same booking steps and one staff notification per lead, with no
matcher, no database, no encryption; under Telegram's limits (`load.py --flood`) it keeps to
them with python-telegram-bot's own `AIORateLimiter`, as faqbot does. What faqbot costs on top
of this is what it does for its users.

Run by `benchmarks/load.py`; alone: `python benchmarks/bare_bot.py` with TELEGRAM_BOT_TOKEN,
TELEGRAM_API_BASE_URL and BOT_ADMIN_CHAT_IDS set.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)

from bot.faq.loader import load_knowledge

FAQ = load_knowledge(Path(__file__).resolve().parent.parent / "faq")
TEXTS = FAQ.texts["en"]
ANSWERS = {
    "sb54?": FAQ.answer("california-sb54", "en"),
    "can the LAPD help ICE?": FAQ.answer("police-and-deportations", "en"),
    "who reported this?": FAQ.answer("news-source", "en"),
}
STEPS = {
    "b:consent:yes": (TEXTS["ask_contact"], []),
    "b:voicemail:yes": (
        TEXTS["summary"],
        ["b:confirm:yes", "b:confirm:change", "b:confirm:cancel"],
    ),
}
STAFF = int(os.environ.get("BOT_ADMIN_CHAT_IDS", "0").split(",")[0] or 0)
REFERENCES = (f"C-{number:06d}" for number in itertools.count(1))


def _buttons(data: list[str]) -> InlineKeyboardMarkup | None:
    if not data:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(item, callback_data=item)] for item in data]
    )


async def handle(update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer one update from the conversation held in memory."""
    if not isinstance(update, Update):
        return
    bot = update.get_bot()
    sessions: dict[int, dict[str, str]] = _context.application.bot_data.setdefault("sessions", {})
    if update.callback_query is not None and update.callback_query.message is not None:
        query = update.callback_query
        chat_id = update.callback_query.message.chat.id
        await query.answer()
        if query.data == "b:confirm:yes":
            reference = next(REFERENCES)
            session = sessions.pop(chat_id, {})
            await bot.send_message(chat_id, TEXTS["booked"].split("{")[0] + reference)
            await bot.send_message(STAFF, f"New consultation request {reference} {session}")
            return
        text, buttons = STEPS.get(query.data or "", (TEXTS["stale_button"], []))
        await bot.send_message(
            chat_id, text, reply_markup=_buttons(buttons) or _contact(query.data)
        )
        return
    message = update.message
    if message is None or message.text is None:
        return
    chat_id = message.chat.id
    text = message.text
    session = sessions.setdefault(chat_id, {})
    if text == "/book":
        await bot.send_message(
            chat_id,
            TEXTS["consent_request"],
            reply_markup=_buttons(["b:consent:yes", "b:consent:no"]),
        )
    elif text in ANSWERS:
        await bot.send_message(
            chat_id, ANSWERS[text], reply_markup=_buttons(["q:a", "q:b", "q:c", "book"])
        )
    elif "phone" not in session:
        # The name's question takes the "share my phone number" keyboard away.
        session["phone"] = text
        await bot.send_message(chat_id, TEXTS["ask_name"], reply_markup=ReplyKeyboardRemove())
    else:
        session["name"] = text
        await bot.send_message(
            chat_id,
            TEXTS["ask_voicemail"],
            reply_markup=_buttons(["b:voicemail:yes", "b:voicemail:no"]),
        )


def _contact(data: str | None) -> ReplyKeyboardMarkup | None:
    if data != "b:consent:yes":
        return None
    return ReplyKeyboardMarkup(
        [[KeyboardButton("Share my phone number", request_contact=True)]], one_time_keyboard=True
    )


def main() -> None:
    """Run the bare bot with long polling until stopped."""
    builder = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .concurrent_updates(True)
    )
    if os.environ.get("BARE_RATE_LIMITER"):
        # Under Telegram's limits: 30 messages a second, 20 a minute per group, retry on 429.
        _serve(builder.rate_limiter(AIORateLimiter(max_retries=5)).build())
    else:
        _serve(builder.build())


def _serve(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, handle))
    application.run_polling(allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY])


if __name__ == "__main__":
    main()
