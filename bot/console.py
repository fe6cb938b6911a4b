"""The console chat: the same conversation as on Telegram, in a terminal.

Buttons are shown as numbered choices; typing the number presses the button.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from bot.dialogue import (
    Button,
    ButtonPress,
    Command,
    Dialogue,
    Event,
    Reply,
    SessionState,
    TextMessage,
)
from bot.knowledge import Knowledge, Language

QUIT_COMMANDS = frozenset({"/quit", "/exit"})


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


def run_console(
    dialogue: Dialogue,
    knowledge: Knowledge,
    lines: Iterable[str],
    write: Callable[[str], None],
    *,
    language: Language | None = None,
) -> None:
    """Hold a conversation over `lines` (typed input), writing replies with `write`."""
    typed = iter(lines)
    turn = dialogue.handle(
        SessionState(chosen_language=language), Command("start"), language_hint=language
    )
    while True:
        for reply in turn.replies:
            write(format_reply(reply))
        buttons = turn.replies[-1].buttons if turn.replies else ()
        if buttons:
            write(knowledge.text(_language(turn.state, language), "choose_number"))
        line = next(typed, None)
        if line is None or line.strip().lower() in QUIT_COMMANDS:
            break
        event = parse_console_input(line, buttons)
        turn = dialogue.handle(turn.state, event, language_hint=language)
    write(knowledge.text(_language(turn.state, language), "goodbye"))


def _language(state: SessionState, default: Language | None) -> Language:
    return state.chosen_language or state.last_language or default or "en"


def typed_lines(prompt: str = "> ") -> Iterator[str]:
    """Yield lines typed at the terminal until Ctrl-D (or Ctrl-C)."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            return
