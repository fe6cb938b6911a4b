"""The conversation, independent of any channel.

`Dialogue.handle(state, event, now=...)` returns the new state, the replies to send and the
effects to carry out (store a lead, keep an unanswered question, forget a user). Telegram and
the console chat both turn their input into these events and show these replies; neither
holds conversation logic of its own. The booking flow is drawn in `booking.mmd`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from bot.contacts import (
    ContactError,
    looks_like_email,
    parse_email,
    parse_name,
    parse_phone,
    parse_topic,
)
from bot.knowledge import LANGUAGES, Knowledge, Language
from bot.matching import Matcher, MatchResult
from bot.privacy import scrub_contacts

TOPICS_PER_PAGE = 8
MAX_CONTACT_TRIES = 3
DEFAULT_BOOKING_TIMEOUT = timedelta(minutes=30)

# Button data. Telegram limits callback data to 64 bytes, so it stays short: a verb and an id.
ASK = "ask"
BOOK = "book"
TOPICS = "topics"
LANGUAGE = "lang"
NONE_OF_THESE = "none"
URGENT_BOOK = "urgent"
_QUESTION_PREFIX = "q:"
_TOPIC_PREFIX = "topic:"
_TOPICS_PAGE_PREFIX = "topics:"
_LANGUAGE_PREFIX = "lang:"
_STEP_PREFIX = "b:"  # booking buttons: "b:<step>:<choice>", valid only at that step

Step = Literal[
    "consent",
    "name",
    "method",
    "phone",
    "email",
    "time",
    "voicemail",
    "topic",
    "confirm",
    "change",
    "update",
    "forget",
]
STEPS: tuple[Step, ...] = get_args(Step)
TIMES = ("morning", "afternoon", "evening", "any")
ContactMethod = Literal["phone", "email"]


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a reply; `data` comes back in a `ButtonPress`."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the user: plain text (the channel escapes it) and its buttons.

    `request_contact` is the label of a "share my phone number" keyboard button, when the
    channel should offer one; `remove_keyboard` takes such a keyboard away; `toast` is a short
    notice for a button press (Telegram shows it as a pop-up) instead of a message.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    request_contact: str | None = None
    remove_keyboard: bool = False
    toast: bool = False


@dataclass(frozen=True, slots=True)
class TextMessage:
    """The user typed something."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The user chose a button; `message_id` is the message it was under, when known."""

    data: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """The user sent a command such as /start (name without the slash, lower-case)."""

    name: str
    argument: str = ""


@dataclass(frozen=True, slots=True)
class SharedContact:
    """The user shared a phone contact; `is_own` when it is the sender's own number."""

    phone: str
    is_own: bool


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """Something the bot cannot read: a sticker, photo, voice note, location, an edit..."""

    kind: str


Event = TextMessage | ButtonPress | Command | SharedContact | OtherMessage


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A question the FAQ could not answer, contact details already removed."""

    text: str
    language: Language


@dataclass(frozen=True, slots=True)
class QuestionAsked:
    """A question was matched (for the staff's statistics; no text is kept)."""

    outcome: str
    language: Language


@dataclass(frozen=True, slots=True)
class LeadRequest:
    """A confirmed consultation request, to be stored and sent to the staff."""

    reference: str
    update: bool
    language: Language
    name: str
    phone: str | None
    email: str | None
    preferred_time: str
    voicemail_ok: bool
    topic: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class ForgetUser:
    """Delete everything stored about this user."""


Effect = UnansweredQuestion | QuestionAsked | LeadRequest | ForgetUser


@dataclass(frozen=True, slots=True)
class BookingDraft:
    """What has been collected so far in a booking; nothing of it is stored before consent."""

    name: str | None = None
    method: ContactMethod | None = None
    phone: str | None = None
    email: str | None = None
    preferred_time: str | None = None
    voicemail_ok: bool | None = None
    topic: str | None = None
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the bot remembers about one chat between messages."""

    chosen_language: Language | None = None
    last_language: Language | None = None
    pending_question: str | None = None
    step: Step | None = None
    draft: BookingDraft = field(default_factory=BookingDraft)
    editing: bool = False
    tries: int = 0
    updating: str | None = None
    open_reference: str | None = None
    active_at: datetime | None = None
    last_press: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready data."""
        return {
            "chosen_language": self.chosen_language,
            "last_language": self.last_language,
            "pending_question": self.pending_question,
            "step": self.step,
            "draft": {
                "name": self.draft.name,
                "method": self.draft.method,
                "phone": self.draft.phone,
                "email": self.draft.email,
                "preferred_time": self.draft.preferred_time,
                "voicemail_ok": self.draft.voicemail_ok,
                "topic": self.draft.topic,
                "urgent": self.draft.urgent,
            },
            "editing": self.editing,
            "tries": self.tries,
            "updating": self.updating,
            "open_reference": self.open_reference,
            "active_at": self.active_at.isoformat() if self.active_at else None,
            "last_press": self.last_press,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        """Rebuild a state from `to_dict` data; anything unreadable starts afresh."""
        try:
            draft = BookingDraft(**data.get("draft") or {})
            active_at = data.get("active_at")
            state = cls(
                chosen_language=_language_or_none(data.get("chosen_language")),
                last_language=_language_or_none(data.get("last_language")),
                pending_question=data.get("pending_question"),
                step=data.get("step") if data.get("step") in STEPS else None,
                draft=draft,
                editing=bool(data.get("editing")),
                tries=int(data.get("tries") or 0),
                updating=data.get("updating"),
                open_reference=data.get("open_reference"),
                active_at=datetime.fromisoformat(active_at) if active_at else None,
                last_press=data.get("last_press"),
            )
        except (TypeError, ValueError):
            return cls()
        return state


def _language_or_none(value: object) -> Language | None:
    return "en" if value == "en" else "es" if value == "es" else None


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of handling one event."""

    state: SessionState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()


def new_reference() -> str:
    """Return a short, unguessable lead reference such as "C-7K3QX9"."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "C-" + "".join(secrets.choice(alphabet) for _ in range(6))


class Dialogue:
    """Decides what to say to each event, from the FAQ, the matcher and the booking rules."""

    def __init__(
        self,
        knowledge: Knowledge,
        matcher: Matcher,
        *,
        retention_days: int = 90,
        booking_timeout: timedelta = DEFAULT_BOOKING_TIMEOUT,
        default_region: str = "US",
        make_reference: Callable[[], str] = new_reference,
    ) -> None:
        self._knowledge = knowledge
        self._matcher = matcher
        self._topic_ids = list(knowledge.topics)
        self._retention_days = retention_days
        self._booking_timeout = booking_timeout
        self._default_region = default_region
        self._make_reference = make_reference

    def handle(
        self,
        state: SessionState,
        event: Event,
        *,
        now: datetime,
        language_hint: Language | None = None,
    ) -> Turn:
        """Return the new state, the replies and the effects of one event."""
        if isinstance(event, ButtonPress) and event.message_id is not None:
            press = f"{event.message_id}:{event.data}"
            if press == state.last_press:
                language = self._language(state, language_hint)
                return Turn(state, (Reply(self._text(language, "duplicate_tap"), toast=True),))
            state = replace(state, last_press=press)

        prefix: tuple[Reply, ...] = ()
        if (
            state.step is not None
            and state.active_at is not None
            and now - state.active_at > self._booking_timeout
        ):
            language = self._language(state, language_hint)
            state = _without_booking(state)
            prefix = (Reply(self._text(language, "booking_expired"), remove_keyboard=True),)

        turn = self._dispatch(state, event, language_hint)
        new_state = turn.state
        if new_state.step is not None:
            new_state = replace(new_state, active_at=now)
        elif new_state.active_at is not None:
            new_state = replace(new_state, active_at=None)
        return Turn(new_state, prefix + turn.replies, turn.effects)

    # --- routing -------------------------------------------------------------------------

    def _dispatch(self, state: SessionState, event: Event, hint: Language | None) -> Turn:
        language = self._language(state, hint)
        if isinstance(event, Command):
            return self._on_command(state, event.name, language)
        if isinstance(event, ButtonPress):
            return self._on_button(state, event.data, language)
        if isinstance(event, SharedContact):
            return self._on_contact(state, event, language)
        if isinstance(event, OtherMessage):
            key = "edited_message" if event.kind == "edited" else "unsupported_message"
            return self._with_step_prompt(state, language, Reply(self._text(language, key)))
        return self._on_text(state, event.text, hint)

    def _language(self, state: SessionState, hint: Language | None) -> Language:
        return state.chosen_language or state.last_language or hint or "en"

    def _text(self, language: Language, key: str, **values: str) -> str:
        return self._knowledge.text(language, key, **values)

    def _button(self, language: Language, key: str, data: str) -> Button:
        return Button(self._text(language, key), data)

    def _menu(self, language: Language) -> tuple[Button, ...]:
        return (
            self._button(language, "button_ask", ASK),
            self._button(language, "button_topics", TOPICS),
            self._button(language, "button_book", BOOK),
            self._button(language, "button_language", LANGUAGE),
        )

    # --- free text -------------------------------------------------------------------------

    def _on_text(self, state: SessionState, text: str, hint: Language | None) -> Turn:
        if state.step in ("name", "method", "phone", "email", "topic"):
            language = self._language(state, hint)
            if self._matcher.is_urgent(text):
                state = replace(state, draft=replace(state.draft, urgent=True))
                if state.step != "topic":
                    # "They took my husband" is not a name: give the phone, then ask again.
                    return self._with_step_prompt(state, language, self._urgent_reply(language))
            return self._on_step_text(state, text, language)
        if not text.strip():
            language = self._language(state, hint)
            return self._with_step_prompt(
                state, language, Reply(self._text(language, "empty_message"), self._menu(language))
            )
        result = self._matcher.match(text, state.chosen_language or state.last_language or hint)
        language = result.language
        state = replace(state, last_language=language, pending_question=None)
        asked = QuestionAsked(result.outcome, language)
        if result.urgent:
            if state.step is not None:
                state = replace(state, draft=replace(state.draft, urgent=True))
                return self._with_step_prompt(state, language, self._urgent_reply(language))
            return Turn(state, (self._urgent_reply(language),), (asked,))
        if state.step is not None:
            # A question typed while the booking waits for a button is still answered.
            if result.outcome == "answer" and result.entry_id is not None and not result.intent:
                reply = self._answer(result.entry_id, language)
            else:
                key = "consent_reminder" if state.step == "consent" else "choose_option"
                reply = Reply(self._text(language, key))
            return _add_effect(self._with_step_prompt(state, language, reply), asked)
        if result.intent == "book":
            return _add_effect(self._start_booking(state, language, urgent=False), asked)
        if result.outcome == "answer" and result.entry_id is not None:
            return Turn(state, (self._answer(result.entry_id, language),), (asked,))
        if result.outcome == "suggest":
            pending = scrub_contacts(text.strip())
            return Turn(
                replace(state, pending_question=pending), (self._suggest(result),), (asked,)
            )
        if result.reason == "no-content":
            key = "greeting" if result.question.strip() else "help"
            return Turn(state, (Reply(self._text(language, key), self._menu(language)),))
        return _add_effect(self._fallback(state, scrub_contacts(text.strip()), language), asked)

    def _urgent_reply(self, language: Language) -> Reply:
        return Reply(
            self._text(language, "urgent"),
            (self._button(language, "button_urgent_book", URGENT_BOOK),),
        )

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
        buttons.append(self._button(language, "button_book", BOOK))
        return Reply(text, tuple(buttons))

    def _suggest(self, result: MatchResult) -> Reply:
        language = result.language
        buttons = [
            Button(suggestion.question, _QUESTION_PREFIX + suggestion.entry_id)
            for suggestion in result.suggestions
        ]
        buttons.append(self._button(language, "button_none", NONE_OF_THESE))
        return Reply(self._text(language, "suggest_header"), tuple(buttons))

    def _fallback(self, state: SessionState, question: str, language: Language) -> Turn:
        reply = Reply(
            self._text(language, "fallback"), (self._button(language, "button_book", BOOK),)
        )
        effects = (UnansweredQuestion(question, language),) if question else ()
        return Turn(replace(state, pending_question=None), (reply,), effects)

    # --- commands --------------------------------------------------------------------------

    def _on_command(self, state: SessionState, name: str, language: Language) -> Turn:
        if name == "cancel":
            if state.step is None:
                return Turn(
                    state,
                    (Reply(self._text(language, "nothing_to_cancel"), self._menu(language)),),
                )
            key = "forget_kept" if state.step == "forget" else "cancelled"
            reply = Reply(self._text(language, key), self._menu(language), remove_keyboard=True)
            return Turn(_without_booking(state), (reply,))
        if name == "book":
            return self._start_booking(state, language, urgent=False)
        if name == "forget":
            state = replace(_without_booking(state), step="forget")
            return Turn(state, (self._step_prompt(state, language),))
        if name == "start":
            text = "\n\n".join(
                (self._text(language, "welcome"), self._text(language, "disclaimer"))
            )
            reply = Reply(text, self._menu(language))
        elif name == "help":
            reply = Reply(self._text(language, "help"), self._menu(language))
        elif name == "topics":
            reply = self._topics(language, 0)
        elif name == "language":
            reply = self._language_prompt(language)
        elif name == "privacy":
            reply = Reply(
                self._text(language, "privacy", retention_days=str(self._retention_days))
            )
        else:
            reply = Reply(self._text(language, "unknown_command"), self._menu(language))
        return self._with_step_prompt(state, language, reply)

    # --- buttons ---------------------------------------------------------------------------

    def _on_button(self, state: SessionState, data: str, language: Language) -> Turn:
        if data.startswith(_STEP_PREFIX):
            return self._on_step_button(state, data, language)
        if data.startswith(_QUESTION_PREFIX):
            entry_id = data.removeprefix(_QUESTION_PREFIX)
            if entry_id in self._knowledge.entries:
                state = replace(state, pending_question=None)
                return self._with_step_prompt(state, language, self._answer(entry_id, language))
        elif data == NONE_OF_THESE and state.step is None:
            return self._fallback(state, state.pending_question or "", language)
        elif data == ASK:
            return self._with_step_prompt(
                state, language, Reply(self._text(language, "ask_prompt"))
            )
        elif data in (BOOK, URGENT_BOOK):
            return self._start_booking(state, language, urgent=data == URGENT_BOOK)
        elif data == TOPICS:
            return self._with_step_prompt(state, language, self._topics(language, 0))
        elif data.startswith(_TOPICS_PAGE_PREFIX):
            page = data.removeprefix(_TOPICS_PAGE_PREFIX)
            if page.isdigit() and int(page) * TOPICS_PER_PAGE < len(self._topic_ids):
                return self._with_step_prompt(state, language, self._topics(language, int(page)))
        elif data.startswith(_TOPIC_PREFIX):
            topic_id = data.removeprefix(_TOPIC_PREFIX)
            if topic_id in self._knowledge.topics:
                return self._with_step_prompt(state, language, self._topic(topic_id, language))
        elif data == LANGUAGE:
            return self._with_step_prompt(state, language, self._language_prompt(language))
        elif data.startswith(_LANGUAGE_PREFIX):
            chosen = _language_or_none(data.removeprefix(_LANGUAGE_PREFIX))
            if chosen is not None:
                state = replace(state, chosen_language=chosen, last_language=chosen)
                reply = Reply(self._text(chosen, "language_set"), self._menu(chosen))
                return self._with_step_prompt(state, chosen, reply)
        return self._stale(state, language)

    def _stale(self, state: SessionState, language: Language) -> Turn:
        reply = Reply(self._text(language, "stale_button"), self._menu(language))
        return self._with_step_prompt(state, language, reply)

    def _topics(self, language: Language, page: int) -> Reply:
        start = page * TOPICS_PER_PAGE
        shown = self._topic_ids[start : start + TOPICS_PER_PAGE]
        buttons = [
            Button(self._knowledge.topics[topic_id].label(language), _TOPIC_PREFIX + topic_id)
            for topic_id in shown
        ]
        if start + TOPICS_PER_PAGE < len(self._topic_ids):
            buttons.append(
                self._button(language, "button_more", f"{_TOPICS_PAGE_PREFIX}{page + 1}")
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

    # --- booking ---------------------------------------------------------------------------

    def _start_booking(self, state: SessionState, language: Language, *, urgent: bool) -> Turn:
        if state.step is not None and state.step not in ("forget", "update"):
            if urgent:
                state = replace(state, draft=replace(state.draft, urgent=True))
            return Turn(state, (self._step_prompt(state, language),))
        draft = BookingDraft(urgent=urgent)
        if state.open_reference is not None:
            state = replace(_without_booking(state), step="update", draft=draft)
        else:
            state = replace(_without_booking(state), step="consent", draft=draft)
        return Turn(state, (self._step_prompt(state, language),))

    def _with_step_prompt(self, state: SessionState, language: Language, reply: Reply) -> Turn:
        """Reply, then, in the middle of a booking, ask its current question again."""
        if state.step is None:
            return Turn(state, (reply,))
        return Turn(state, (reply, self._step_prompt(state, language)))

    def _step_prompt(self, state: SessionState, language: Language) -> Reply:
        step = state.step
        b = self._button
        if step == "consent":
            text = self._text(
                language, "consent_request", retention_days=str(self._retention_days)
            )
            return Reply(
                text,
                (
                    b(language, "button_agree", "b:consent:yes"),
                    b(language, "button_decline", "b:consent:no"),
                ),
            )
        if step == "name":
            return Reply(self._text(language, "ask_name"), remove_keyboard=True)
        if step == "method":
            return Reply(
                self._text(language, "ask_method"),
                (
                    b(language, "button_phone", "b:method:phone"),
                    b(language, "button_email", "b:method:email"),
                ),
                remove_keyboard=True,
            )
        if step == "phone":
            return Reply(
                self._text(language, "ask_phone"),
                request_contact=self._text(language, "button_share_phone"),
            )
        if step == "email":
            return Reply(self._text(language, "ask_email"), remove_keyboard=True)
        if step == "time":
            return Reply(
                self._text(language, "ask_time"),
                tuple(b(language, f"time_{time}", f"b:time:{time}") for time in TIMES),
                remove_keyboard=True,
            )
        if step == "voicemail":
            return Reply(
                self._text(language, "ask_voicemail"),
                (
                    b(language, "button_voicemail_yes", "b:voicemail:yes"),
                    b(language, "button_voicemail_no", "b:voicemail:no"),
                ),
            )
        if step == "topic":
            return Reply(
                self._text(language, "ask_topic"), (b(language, "button_skip", "b:topic:skip"),)
            )
        if step == "confirm":
            return self._summary(state, language)
        if step == "change":
            return Reply(
                self._text(language, "change_prompt"),
                (
                    b(language, "button_change_name", "b:change:name"),
                    b(language, "button_change_contact", "b:change:method"),
                    b(language, "button_change_time", "b:change:time"),
                    b(language, "button_change_voicemail", "b:change:voicemail"),
                    b(language, "button_change_topic", "b:change:topic"),
                ),
            )
        if step == "update":
            return Reply(
                self._text(language, "already_booked", reference=state.open_reference or ""),
                (
                    b(language, "button_update", "b:update:yes"),
                    b(language, "button_keep", "b:update:no"),
                ),
            )
        return Reply(
            self._text(language, "forget_confirm"),
            (
                b(language, "button_forget_yes", "b:forget:yes"),
                b(language, "button_forget_no", "b:forget:no"),
            ),
        )

    def _summary(self, state: SessionState, language: Language) -> Reply:
        text = self._text(language, "summary", **self._describe(state.draft, language))
        if state.draft.urgent:
            text += "\n\n" + self._text(language, "summary_urgent")
        return Reply(
            text,
            (
                self._button(language, "button_confirm", "b:confirm:yes"),
                self._button(language, "button_change", "b:confirm:change"),
                self._button(language, "button_cancel", "b:confirm:cancel"),
            ),
            remove_keyboard=True,
        )

    def _describe(self, draft: BookingDraft, language: Language) -> dict[str, str]:
        return {
            "name": draft.name or "",
            "contact": (draft.phone if draft.method == "phone" else draft.email) or "",
            "time": self._text(language, f"time_{draft.preferred_time or 'any'}"),
            "voicemail": self._text(
                language, "voicemail_yes" if draft.voicemail_ok else "voicemail_no"
            ),
            "topic": draft.topic or self._text(language, "topic_none"),
        }

    def _advance(self, state: SessionState, language: Language, next_step: Step) -> Turn:
        """Move on after a valid answer: to the next question, or back to the summary."""
        step: Step = "confirm" if state.editing else next_step
        state = replace(state, step=step, tries=0, editing=state.editing and step != "confirm")
        return Turn(state, (self._step_prompt(state, language),))

    def _on_step_text(self, state: SessionState, text: str, language: Language) -> Turn:
        draft = state.draft
        try:
            if state.step == "name":
                named = replace(state, draft=replace(draft, name=parse_name(text)))
                return self._advance(named, language, "method")
            if state.step == "topic":
                topic = parse_topic(text)
                return self._advance(
                    replace(state, draft=replace(draft, topic=topic or None)), language, "confirm"
                )
            method: ContactMethod
            if state.step == "method":
                method = "email" if looks_like_email(text) else "phone"
            else:
                method = "email" if state.step == "email" else "phone"
            if method == "email":
                updated = replace(draft, method="email", email=parse_email(text), phone=None)
            else:
                phone = parse_phone(text, self._default_region)
                updated = replace(draft, method="phone", phone=phone, email=None)
            return self._advance(replace(state, draft=updated), language, "time")
        except ContactError as error:
            return self._invalid(state, language, error.reason)

    def _invalid(self, state: SessionState, language: Language, reason: str) -> Turn:
        if state.step not in ("phone", "email", "method"):
            return Turn(state, (Reply(self._text(language, reason)),))
        tries = state.tries + 1
        state = replace(state, tries=tries)
        if tries < MAX_CONTACT_TRIES:
            return Turn(state, (Reply(self._text(language, reason)),))
        other = "email" if state.step != "email" else "phone"
        reply = Reply(
            self._text(language, "too_many_tries"),
            (
                self._button(language, f"button_use_{other}", f"b:{state.step}:{other}"),
                self._button(language, "button_cancel", f"b:{state.step}:cancel"),
            ),
            remove_keyboard=True,
        )
        return Turn(replace(state, tries=0), (reply,))

    def _on_contact(self, state: SessionState, contact: SharedContact, language: Language) -> Turn:
        if state.step not in ("method", "phone"):
            return self._with_step_prompt(
                state, language, Reply(self._text(language, "contact_unexpected"))
            )
        if not contact.is_own:
            return Turn(state, (Reply(self._text(language, "contact_not_yours")),))
        try:
            phone = parse_phone(contact.phone, self._default_region)
        except ContactError as error:
            return self._invalid(state, language, error.reason)
        updated = replace(state.draft, method="phone", phone=phone, email=None)
        return self._advance(replace(state, draft=updated), language, "time")

    def _on_step_button(self, state: SessionState, data: str, language: Language) -> Turn:
        step, _, choice = data.removeprefix(_STEP_PREFIX).partition(":")
        if step != state.step:
            return self._stale(state, language)
        draft = state.draft
        if step == "consent":
            if choice == "yes":
                return self._advance(state, language, "name")
            if choice == "no":
                reply = Reply(self._text(language, "consent_declined"), self._menu(language))
                return Turn(_without_booking(state), (reply,))
        elif step in ("method", "phone", "email") and choice in ("phone", "email"):
            moved = replace(state, step="phone" if choice == "phone" else "email", tries=0)
            return Turn(moved, (self._step_prompt(moved, language),))
        elif step in ("phone", "email") and choice == "cancel":
            return self._on_command(state, "cancel", language)
        elif step == "time" and choice in TIMES:
            return self._advance(
                replace(state, draft=replace(draft, preferred_time=choice)), language, "voicemail"
            )
        elif step == "voicemail" and choice in ("yes", "no"):
            voicemail = replace(draft, voicemail_ok=choice == "yes")
            return self._advance(replace(state, draft=voicemail), language, "topic")
        elif step == "topic" and choice == "skip":
            return self._advance(
                replace(state, draft=replace(draft, topic=None)), language, "confirm"
            )
        elif step == "confirm":
            return self._on_confirm(state, choice, language)
        elif step == "change" and choice in ("name", "method", "time", "voicemail", "topic"):
            target: Step = choice  # type: ignore[assignment]
            moved = replace(state, step=target, editing=True, tries=0)
            return Turn(moved, (self._step_prompt(moved, language),))
        elif step == "update":
            if choice == "yes":
                moved = replace(
                    state, step="consent", updating=state.open_reference, draft=state.draft
                )
                return Turn(moved, (self._step_prompt(moved, language),))
            if choice == "no":
                reference = state.open_reference or ""
                reply = Reply(
                    self._text(language, "kept", reference=reference), self._menu(language)
                )
                return Turn(_without_booking(state), (reply,))
        elif step == "forget":
            if choice == "yes":
                reply = Reply(self._text(language, "forgotten"), remove_keyboard=True)
                return Turn(SessionState(), (reply,), (ForgetUser(),))
            if choice == "no":
                reply = Reply(self._text(language, "forget_kept"), self._menu(language))
                return Turn(_without_booking(state), (reply,))
        return self._stale(state, language)

    def _on_confirm(self, state: SessionState, choice: str, language: Language) -> Turn:
        if choice == "change":
            moved = replace(state, step="change")
            return Turn(moved, (self._step_prompt(moved, language),))
        if choice == "cancel":
            return self._on_command(state, "cancel", language)
        if choice != "yes":
            return self._stale(state, language)
        draft = state.draft
        if draft.name is None or (draft.phone is None and draft.email is None):
            # A confirm can only follow a complete form; anything else restarts the form.
            return self._start_booking(_without_booking(state), language, urgent=draft.urgent)
        reference = state.updating or self._make_reference()
        lead = LeadRequest(
            reference=reference,
            update=state.updating is not None,
            language=language,
            name=draft.name,
            phone=draft.phone if draft.method == "phone" else None,
            email=draft.email if draft.method == "email" else None,
            preferred_time=draft.preferred_time or "any",
            voicemail_ok=bool(draft.voicemail_ok),
            topic=draft.topic or "",
            urgent=draft.urgent,
        )
        values = self._describe(draft, language)
        key = "booking_updated" if lead.update else "booked"
        text = self._text(
            language, key, reference=reference, name=values["name"], time=values["time"]
        )
        done = replace(_without_booking(state), open_reference=reference)
        return Turn(done, (Reply(text, self._menu(language), remove_keyboard=True),), (lead,))


def _without_booking(state: SessionState) -> SessionState:
    return replace(state, step=None, draft=BookingDraft(), editing=False, tries=0, updating=None)


def _add_effect(turn: Turn, effect: Effect) -> Turn:
    return Turn(turn.state, turn.replies, (*turn.effects, effect))
