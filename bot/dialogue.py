"""The conversation, independent of any channel.

`Dialogue.handle(state, event)` returns the new state, the replies to send and the effects to
carry out (such as keeping an unanswered question). Telegram and the console chat both turn
their input into these events and print these replies; neither holds any logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.knowledge import LANGUAGES, Knowledge, Language
from bot.matching import Matcher, MatchResult
from bot.privacy import scrub_contacts

TOPICS_PER_PAGE = 8

# Button data. Telegram limits callback data to 64 bytes, so it stays short: a verb and an id.
ASK = "ask"
BOOK = "book"
TOPICS = "topics"
LANGUAGE = "lang"
NONE_OF_THESE = "none"
_QUESTION_PREFIX = "q:"
_TOPIC_PREFIX = "topic:"
_TOPICS_PAGE_PREFIX = "topics:"
_LANGUAGE_PREFIX = "lang:"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a reply; `data` comes back in a `ButtonPress`."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the user: plain text (the channel escapes it) and its buttons."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class TextMessage:
    """The user typed something."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The user chose a button."""

    data: str


@dataclass(frozen=True, slots=True)
class Command:
    """The user sent a command such as /start (name without the slash, lower-case)."""

    name: str
    argument: str = ""


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """Something the bot cannot read: a sticker, photo, voice note, location..."""

    kind: str


Event = TextMessage | ButtonPress | Command | OtherMessage


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A question the FAQ could not answer, contact details already removed."""

    text: str
    language: Language


Effect = UnansweredQuestion


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the bot remembers about one chat between messages."""

    chosen_language: Language | None = None
    last_language: Language | None = None
    pending_question: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of handling one event."""

    state: SessionState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()


class Dialogue:
    """Decides what to say to each event, from the FAQ and the matcher."""

    def __init__(self, knowledge: Knowledge, matcher: Matcher) -> None:
        self._knowledge = knowledge
        self._matcher = matcher
        self._topic_ids = list(knowledge.topics)

    def handle(
        self, state: SessionState, event: Event, *, language_hint: Language | None = None
    ) -> Turn:
        """Return the new state, the replies and the effects of one event."""
        if isinstance(event, TextMessage):
            return self._on_text(state, event.text, language_hint)
        language = self._language(state, language_hint)
        if isinstance(event, ButtonPress):
            return self._on_button(state, event.data, language)
        if isinstance(event, Command):
            return self._on_command(state, event.name, language)
        return Turn(
            state, (Reply(self._text(language, "unsupported_message"), self._menu(language)),)
        )

    def _language(self, state: SessionState, hint: Language | None) -> Language:
        return state.chosen_language or state.last_language or hint or "en"

    def _text(self, language: Language, key: str, **values: str) -> str:
        return self._knowledge.text(language, key, **values)

    def _menu(self, language: Language) -> tuple[Button, ...]:
        return (
            Button(self._text(language, "button_ask"), ASK),
            Button(self._text(language, "button_topics"), TOPICS),
            Button(self._text(language, "button_book"), BOOK),
            Button(self._text(language, "button_language"), LANGUAGE),
        )

    def _book_button(self, language: Language) -> Button:
        return Button(self._text(language, "button_book"), BOOK)

    def _on_text(self, state: SessionState, text: str, hint: Language | None) -> Turn:
        if not text.strip():
            language = self._language(state, hint)
            return Turn(
                state, (Reply(self._text(language, "empty_message"), self._menu(language)),)
            )
        result = self._matcher.match(text, state.chosen_language or state.last_language or hint)
        state = replace(state, last_language=result.language, pending_question=None)
        language = result.language
        if result.intent == "book":
            return self._book(state, language)
        if result.outcome == "answer" and result.entry_id is not None:
            return Turn(state, (self._answer(result.entry_id, language),))
        if result.outcome == "suggest":
            pending = scrub_contacts(text.strip())
            return Turn(replace(state, pending_question=pending), (self._suggest(result),))
        if result.reason == "no-content":
            key = "greeting" if result.question.strip() else "help"
            return Turn(state, (Reply(self._text(language, key), self._menu(language)),))
        return self._fallback(state, scrub_contacts(text.strip()), language)

    def _answer(self, entry_id: str, language: Language) -> Reply:
        entry = self._knowledge.entries[entry_id]
        text = "\n\n".join(
            (
                self._knowledge.answer(entry_id, language),
                self._knowledge.source_label(entry_id, language),
            )
        )
        buttons = [
            Button(
                self._knowledge.entries[related].text(language).question,
                _QUESTION_PREFIX + related,
            )
            for related in entry.related
        ]
        if entry.intent != "book":
            buttons.append(self._book_button(language))
        return Reply(text, tuple(buttons))

    def _suggest(self, result: MatchResult) -> Reply:
        language = result.language
        buttons = [
            Button(suggestion.question, _QUESTION_PREFIX + suggestion.entry_id)
            for suggestion in result.suggestions
        ]
        buttons.append(Button(self._text(language, "button_none"), NONE_OF_THESE))
        return Reply(self._text(language, "suggest_header"), tuple(buttons))

    def _fallback(self, state: SessionState, question: str, language: Language) -> Turn:
        reply = Reply(self._text(language, "fallback"), (self._book_button(language),))
        effects = (UnansweredQuestion(question, language),) if question else ()
        return Turn(replace(state, pending_question=None), (reply,), effects)

    def _book(self, state: SessionState, language: Language) -> Turn:
        return Turn(state, (Reply(self._text(language, "booking_contact")),))

    def _on_command(self, state: SessionState, name: str, language: Language) -> Turn:
        if name == "start":
            text = "\n\n".join(
                (self._text(language, "welcome"), self._text(language, "disclaimer"))
            )
            return Turn(state, (Reply(text, self._menu(language)),))
        if name == "help":
            return Turn(state, (Reply(self._text(language, "help"), self._menu(language)),))
        if name == "topics":
            return Turn(state, (self._topics(language, 0),))
        if name == "language":
            return Turn(state, (self._language_prompt(language),))
        if name == "book":
            return self._book(state, language)
        return Turn(state, (Reply(self._text(language, "unknown_command"), self._menu(language)),))

    def _on_button(self, state: SessionState, data: str, language: Language) -> Turn:
        if data.startswith(_QUESTION_PREFIX):
            entry_id = data.removeprefix(_QUESTION_PREFIX)
            if entry_id in self._knowledge.entries:
                return Turn(
                    replace(state, pending_question=None), (self._answer(entry_id, language),)
                )
        elif data == NONE_OF_THESE:
            return self._fallback(state, state.pending_question or "", language)
        elif data == ASK:
            return Turn(state, (Reply(self._text(language, "ask_prompt")),))
        elif data == BOOK:
            return self._book(state, language)
        elif data == TOPICS:
            return Turn(state, (self._topics(language, 0),))
        elif data.startswith(_TOPICS_PAGE_PREFIX):
            page = data.removeprefix(_TOPICS_PAGE_PREFIX)
            if page.isdigit() and int(page) * TOPICS_PER_PAGE < len(self._topic_ids):
                return Turn(state, (self._topics(language, int(page)),))
        elif data.startswith(_TOPIC_PREFIX):
            topic_id = data.removeprefix(_TOPIC_PREFIX)
            if topic_id in self._knowledge.topics:
                return Turn(state, (self._topic(topic_id, language),))
        elif data == LANGUAGE:
            return Turn(state, (self._language_prompt(language),))
        elif data.startswith(_LANGUAGE_PREFIX):
            chosen = data.removeprefix(_LANGUAGE_PREFIX)
            for supported in LANGUAGES:
                if chosen == supported:
                    new_state = replace(state, chosen_language=supported, last_language=supported)
                    reply = Reply(self._text(supported, "language_set"), self._menu(supported))
                    return Turn(new_state, (reply,))
        return Turn(state, (Reply(self._text(language, "stale_button"), self._menu(language)),))

    def _topics(self, language: Language, page: int) -> Reply:
        start = page * TOPICS_PER_PAGE
        shown = self._topic_ids[start : start + TOPICS_PER_PAGE]
        buttons = [
            Button(self._knowledge.topics[topic_id].label(language), _TOPIC_PREFIX + topic_id)
            for topic_id in shown
        ]
        if start + TOPICS_PER_PAGE < len(self._topic_ids):
            buttons.append(
                Button(self._text(language, "button_more"), f"{_TOPICS_PAGE_PREFIX}{page + 1}")
            )
        return Reply(self._text(language, "topics_header"), tuple(buttons))

    def _topic(self, topic_id: str, language: Language) -> Reply:
        topic = self._knowledge.topics[topic_id]
        buttons = tuple(
            Button(entry.text(language).question, _QUESTION_PREFIX + entry.id)
            for entry in self._knowledge.entries.values()
            if entry.topic == topic_id
        )
        return Reply(self._text(language, "topic_header", topic=topic.label(language)), buttons)

    def _language_prompt(self, language: Language) -> Reply:
        buttons = tuple(
            Button(self._text(supported, "language_name"), _LANGUAGE_PREFIX + supported)
            for supported in LANGUAGES
        )
        return Reply(self._text(language, "language_prompt"), buttons)
