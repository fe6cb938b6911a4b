"""The console chat: the same conversation as on Telegram, in a terminal.

Buttons are shown as numbered choices; typing the number presses the button. It runs on the
same chat service and database as the Telegram bot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from bot.dialogue import Button, ButtonPress, Command, Event, Reply, TextMessage
from bot.faq.knowledge import Knowledge, Language
from bot.host.turns import ChatService, Incoming

QUIT_COMMANDS = frozenset({"/quit", "/exit"})
# The console is one private chat; its id only has to differ from Telegram's, which are > 0.
CONSOLE_CHAT_ID = -1


def parse_console_input(line: str, buttons: tuple[Button, ...]) -> Event:
    """Turn one typed line into an event: a command, a numbered choice, or text."""
    stripped = line.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        name, _, argument = stripped[1:].partition(" ")
        return Command(name.lower(), argument.strip())
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return ButtonPress(buttons[int(stripped) - 1].data)
    return TextMessage(line)


def format_reply(reply: Reply) -> str:
    """Render a reply as plain text, its buttons as a numbered list."""
    lines = [reply.text]
    lines.extend(f"  {number}. {button.label}" for number, button in enumerate(reply.buttons, 1))
    return "\n".join(lines)


async def run_console(
    service: ChatService,
    knowledge: Knowledge,
    lines: Iterable[str],
    write: Callable[[str], None],
    *,
    language: Language | None = None,
) -> None:
    """Hold a conversation over `lines` (typed input), writing replies with `write`."""
    typed = iter(lines)
    event: Event = Command("start")
    shown_language: Language = language or "en"
    hint = language
    opening = True
    while True:
        async with service.holding(CONSOLE_CHAT_ID) as chat_key:
            # The terminal is the person's own: the language the conversation is in goes with
            # each line as its hint, as Telegram's language_code does, so that it carries over
            # a /forget, after which nothing about the conversation is stored.
            response = await service.handle(
                Incoming(CONSOLE_CHAT_ID, CONSOLE_CHAT_ID, hint, event)
            )
            shown_language = response.language
            if not opening:
                hint = shown_language
            for reply in response.replies:
                write(format_reply(reply))
                if reply.request_contact:
                    write(knowledge.text(shown_language, "console_no_contact"))
            # Shown: they are owed no more (else each turn would show every earlier one again).
            await service.delivered(chat_key, response, len(response.replies))
        buttons = response.replies[-1].buttons if response.replies else ()
        if buttons:
            write(knowledge.text(shown_language, "choose_number"))
        line = next(typed, None)
        if line is None or line.strip().lower() in QUIT_COMMANDS:
            break
        event = parse_console_input(line, buttons)
        opening = False
    write(knowledge.text(shown_language, "goodbye"))


def typed_lines(prompt: str = "> ") -> Iterator[str]:
    """Yield lines typed at the terminal until Ctrl-D (or Ctrl-C)."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            return
