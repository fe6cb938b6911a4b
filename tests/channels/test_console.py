from __future__ import annotations

from bot.channels.console import format_reply, parse_console_input, run_console
from bot.dialogue import Button, ButtonPress, Command, Reply, TextMessage
from bot.faq.knowledge import Knowledge
from bot.host.turns import ChatService

BUTTONS = (Button("Ask", "ask"), Button("Topics", "topics"))


def test_parse_numbers_commands_and_text() -> None:
    assert parse_console_input("2", BUTTONS) == ButtonPress("topics")
    assert parse_console_input("3", BUTTONS) == TextMessage("3")
    assert parse_console_input("/Language es", BUTTONS) == Command("language", "es")
    assert parse_console_input("is LA safe?", BUTTONS) == TextMessage("is LA safe?")


def test_format_reply_numbers_buttons() -> None:
    assert format_reply(Reply("Hi", BUTTONS)) == "Hi\n  1. Ask\n  2. Topics"


async def test_console_conversation(service: ChatService, knowledge: Knowledge) -> None:
    output: list[str] = []
    await run_console(service, knowledge, ["sb54?", "1", "/quit", "never read"], output.append)
    transcript = "\n".join(output)
    assert knowledge.text("en", "welcome") in transcript
    assert knowledge.answer("california-sb54", "en") in transcript
    # "1" is the answer's first button: "Read more", which shows what the article says at
    # more length.
    details = knowledge.details_as_read("california-sb54", "en")
    assert details is not None
    assert details in transcript
    assert output[-1] == knowledge.texts["en"]["goodbye"]


async def test_each_reply_is_shown_once(service: ChatService, knowledge: Knowledge) -> None:
    output: list[str] = []
    await run_console(service, knowledge, ["sb54?", "who is protected?", "/quit"], output.append)
    sb54 = [text for text in output if knowledge.answer("california-sb54", "en") in text]
    assert len(sb54) == 1
