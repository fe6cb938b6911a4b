"""The conversation engine: `(state, event, now) -> Turn`, the same for every channel.

It routes every event (text, button, shared contact, command) to an answer, a suggestion, an
honest "I don't know", the crisis reply, or a step of the booking form (`bot.dialogue.form`).
It never touches the network or the database: the effects it returns (store a lead, keep an
unanswered question, forget the person) are carried out by `bot.host.turns`, which also loads
what /mydata shows. It is the person's side only: the staff chats' commands, buttons and
replies are the staff room's (`bot.staff.room`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.dialogue.contacts import ContactError, parse_phone
from bot.dialogue.form import (
    FORM,
    STEP_PREFIX,
    Choice,
    FormStep,
    button_data,
    parse_button_data,
)
from bot.dialogue.messages import (
    Button,
    ButtonPress,
    Command,
    Effect,
    EndRelay,
    Event,
    ForgetUser,
    OtherMessage,
    QuestionAsked,
    RelayToStaff,
    Reply,
    SaveLead,
    SharedContact,
    TextMessage,
    UnansweredQuestion,
)
from bot.dialogue.state import BookingDraft, SessionState, StepName
from bot.faq.knowledge import LANGUAGES, Knowledge, Language
from bot.matching.matcher import Matcher, MatchResult
from bot.privacy import scrub_personal
from bot.records import Lead, PersonData, new_reference
from bot.reports import LeadWriter, my_data_report

TOPICS_PER_PAGE = 8
MAX_CONTACT_TRIES = 3
DEFAULT_BOOKING_TIMEOUT = timedelta(minutes=30)

# Button data of the menu and the FAQ; the form's buttons start with STEP_PREFIX.
ASK = "ask"
BOOK = "book"
TOPICS = "topics"
LANGUAGE = "lang"
NONE_OF_THESE = "none"
URGENT_BOOK = "urgent"
QUESTION_PREFIX = "q:"
# "Read more" under an answer: what the article says on it at more length.
MORE_PREFIX = "more:"
_TOPIC_PREFIX = "topic:"
_TOPICS_PAGE_PREFIX = "topics:"
_LANGUAGE_PREFIX = "lang:"
# Button data can be forged (a webhook body, a modified client): a page number is read only
# when it is ASCII digits, as `str.isdigit` and `int` also take superscripts and other scripts.
_PAGE_NUMBER = re.compile(r"[0-9]{1,4}")


# Steps whose typed answer is free text: words of a crisis in it are still the answer (marking
# the request urgent), not a reason to ask again.
_FREE_TEXT_STEPS: frozenset[StepName] = frozenset({"topic", "confirm"})
RecordsNeeded = Literal["person"]


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of handling one event."""

    state: SessionState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()

    def with_effect(self, effect: Effect) -> Turn:
        """The same turn with one more effect."""
        return Turn(self.state, self.replies, (*self.effects, effect))


def records_needed(event: Event) -> RecordsNeeded | None:
    """What the service must load before the engine can answer `event`, if anything."""
    if isinstance(event, Command) and event.name == "mydata":
        return "person"
    return None


def parse_page_number(text: str) -> int | None:
    """The page number of a "more topics" button, or None when it is not plain digits."""
    if _PAGE_NUMBER.fullmatch(text) is None:
        return None
    return int(text)


class Dialogue:
    """Decides what to say to each event, from the FAQ, the matcher and the booking form."""

    def __init__(
        self,
        knowledge: Knowledge,
        matcher: Matcher,
        *,
        retention_days: int = 90,
        booking_timeout: timedelta = DEFAULT_BOOKING_TIMEOUT,
        default_region: str = "US",
        time_zone: str = "America/Los_Angeles",
        staff_language: Language = "en",
        make_reference: Callable[[], str] = new_reference,
        phone_share: bool = True,
    ) -> None:
        """`phone_share`: the channel can offer the person's own number in one tap (Telegram's
        contact keyboard). Without it the number is typed, and no reply offers such a
        widget or has to take it away again."""
        self._phone_share = phone_share
        self._knowledge = knowledge
        self._matcher = matcher
        self._topic_ids = list(knowledge.topics)
        self._retention_days = retention_days
        self._booking_timeout = booking_timeout
        self._default_region = default_region
        self._make_reference = make_reference
        self._writer = LeadWriter(knowledge, time_zone, staff_language=staff_language)

    def flood_notice(self, language: Language) -> Reply:
        """The one reply to someone who sends too many messages too fast."""
        return Reply(self._text(language, "flood_notice"))

    @property
    def writer(self) -> LeadWriter:
        """How leads are described to people and staff."""
        return self._writer

    def handle(
        self,
        state: SessionState,
        event: Event,
        *,
        now: datetime,
        language_hint: Language | None = None,
        records: PersonData | None = None,
        relay: str | None = None,
    ) -> Turn:
        """Return the new state, the replies and the effects of one event.

        `relay` names the request whose staff the person is writing to (their messages go to
        the staff instead of the FAQ), if any.
        """
        if isinstance(event, ButtonPress) and event.tap is not None:
            press = event.tap
            if press == state.last_press:
                toast = Reply(
                    self._text(state.language(language_hint), "duplicate_tap"), toast=True
                )
                return Turn(state, (toast,))
            state = replace(state, last_press=press)

        prefix: tuple[Reply, ...] = ()
        if (
            state.step is not None
            and state.active_at is not None
            and now - state.active_at > self._booking_timeout
        ):
            language = state.language(language_hint)
            state = state.without_booking()
            prefix = (Reply(self._text(language, "booking_expired")),)

        if relay is not None and state.step is None:
            turn = self._relay(state, event, relay, language_hint, records)
        else:
            turn = self._dispatch(state, event, language_hint, records)
        new_state = turn.state
        if new_state.step is not None:
            new_state = replace(new_state, active_at=now)
        elif new_state.active_at is not None:
            new_state = replace(new_state, active_at=None)
        new_state, replies = self._manage_contact_keyboard(
            new_state, prefix + turn.replies, new_state.language(language_hint)
        )
        return Turn(new_state, replies, turn.effects)

    # --- routing -------------------------------------------------------------------------

    def _dispatch(
        self,
        state: SessionState,
        event: Event,
        hint: Language | None,
        records: PersonData | None,
    ) -> Turn:
        language = state.language(hint)
        if isinstance(event, Command):
            return self._on_command(state, event.name, language, records)
        if isinstance(event, ButtonPress):
            return self._on_button(state, event.data, language)
        if isinstance(event, SharedContact):
            return self._on_contact(state, event, language)
        if isinstance(event, OtherMessage):
            key = "edited_message" if event.kind == "edited" else "unsupported_message"
            return self._then_step(state, language, Reply(self._text(language, key)))
        return self._on_text(state, event.text, hint)

    def _text(self, language: Language, key: str, /, **values: str) -> str:
        return self._knowledge.text(language, key, **values)

    def _relay(
        self,
        state: SessionState,
        event: Event,
        reference: str,
        hint: Language | None,
        records: PersonData | None,
    ) -> Turn:
        """While the firm's staff and the person write to each other, text goes to the staff
        (a crisis still gets the phone first); /cancel stops it; the rest works as usual."""
        language = state.language(hint)
        if isinstance(event, Command) and event.name == "cancel":
            reply = Reply(self._text(language, "relay_stopped"), self._menu(language))
            return Turn(state, (reply,), (EndRelay(reference),))
        if not isinstance(event, TextMessage) or not event.text.strip():
            return self._dispatch(state, event, hint, records)
        reading = self._matcher.read(event.text)
        replies = self._emergency_replies(reading.urgent, reading.medical, language)
        replies.append(Reply(self._text(language, "relay_sent", reference=reference)))
        return Turn(state, tuple(replies), (RelayToStaff(reference, event.text.strip()),))

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
        if state.step is not None and FORM[state.step].reads_text(state.draft):
            return self._on_step_text(state, text, state.language(hint))
        if not text.strip():
            language = state.language(hint)
            reply = Reply(self._text(language, "empty_message"), self._menu(language))
            return self._then_step(state, language, reply)
        result = self._matcher.match(text, state.chosen_language or state.last_language or hint)
        language = result.language
        state = replace(state, last_language=language, pending_question=None)
        asked = QuestionAsked(result.outcome, language, urgent=result.urgent)
        emergency = self._emergency_replies(result.urgent, result.medical, language)
        if emergency:
            if result.urgent and state.step is not None:
                state = replace(state, draft=replace(state.draft, urgent=True))
            shown = _entry_shown(result)
            if shown is not None:
                # The crisis first; then what the message also asked, which the article answers.
                state, answer = self._answer(state, shown, language)
                emergency.append(answer)
            return self._then_step(state, language, *emergency).with_effect(asked)
        if state.step is not None:
            # A question typed while the booking waits for a button is still answered.
            shown = _entry_shown(result)
            if shown is not None and not result.intent:
                state, reply = self._answer(state, shown, language)
            else:
                key = "consent_reminder" if state.step == "consent" else "choose_option"
                reply = Reply(self._text(language, key))
            return self._then_step(state, language, reply).with_effect(asked)
        if result.intent == "book":
            shown = _entry_shown(result)
            if shown is None or self._knowledge.entries[shown].intent:
                return self._start_booking(state, language, urgent=False).with_effect(asked)
            # "How do I make an appointment?": the firm's ways in first, then the booking
            # here, which is one more of them.
            state, answer = self._answer(state, shown, language)
            booking = self._start_booking(state, language, urgent=False)
            return Turn(booking.state, (Reply(answer.text), *booking.replies), (asked,))
        shown = _entry_shown(result)
        if shown is not None:
            state, answer = self._answer(state, shown, language)
            return Turn(state, (answer, *self._answer_note(result)), (asked,))
        if result.reason == "other-language":
            # Neither English nor Spanish: not kept, and not taken as a question in either.
            return Turn(state, (Reply(self._text(language, "other_language")),), (asked,))
        if result.reason == "distress":
            reply = Reply(
                self._text(language, "distress"),
                (self._button(language, "button_urgent_book", URGENT_BOOK),),
            )
            return Turn(state, (reply,), (asked,))
        if result.reason == "no-content":
            key = "greeting" if result.question.strip() else "help"
            return Turn(state, (Reply(self._text(language, key), self._menu(language)),))
        kept = scrub_personal(text.strip())
        if result.reason == "personal":
            # Someone's own case is not kept for the FAQ: it is theirs, and no entry can answer it.
            return Turn(state, (self._personal(result),), (asked,))
        if result.gap is not None or result.reason == "not-stated":
            turn = Turn(state, (self._not_stated(result),), (asked,))
            return turn.with_effect(UnansweredQuestion(kept, language)) if kept else turn
        if result.outcome == "suggest":
            reply = self._suggest(result)
            return Turn(replace(state, pending_question=kept), (reply,), (asked,))
        return self._fallback(state, kept, language).with_effect(asked)

    def _emergency_replies(self, urgent: bool, medical: bool, language: Language) -> list[Reply]:
        replies = []
        if medical:
            replies.append(Reply(self._text(language, "medical_emergency")))
        if urgent:
            replies.append(self._urgent_reply(language))
        return replies

    def _urgent_reply(self, language: Language) -> Reply:
        return Reply(
            self._text(language, "urgent"),
            (self._button(language, "button_urgent_book", URGENT_BOOK),),
        )

    def _answer(
        self, state: SessionState, entry_id: str, language: Language
    ) -> tuple[SessionState, Reply]:
        """The answer as the person reads it, and the state that remembers whether the
        article's limits have been said in this conversation (they are said once)."""
        knowledge = self._knowledge
        entry = knowledge.entries[entry_id]
        limits = entry.limits and not state.limits_said
        text = knowledge.answer_as_read(entry_id, language, limits=limits)
        if limits:
            state = replace(state, limits_said=True)
        buttons = []
        if entry.text(language).details is not None:
            buttons.append(self._button(language, "button_read_more", MORE_PREFIX + entry_id))
        buttons += [self._entry_button(related, language) for related in entry.related]
        buttons.append(self._button(language, "button_book", BOOK))
        return state, Reply(text, tuple(buttons))

    def _details(self, entry_id: str, language: Language) -> Reply:
        """What "Read more" shows: the article on this question at more length."""
        knowledge = self._knowledge
        text = knowledge.details_as_read(entry_id, language) or knowledge.answer(
            entry_id, language
        )
        buttons = [
            self._entry_button(related, language)
            for related in knowledge.entries[entry_id].related
        ]
        buttons.append(self._button(language, "button_book", BOOK))
        return Reply(text, tuple(buttons))

    def _entry_button(self, entry_id: str, language: Language) -> Button:
        label = self._knowledge.entries[entry_id].text(language).label
        return Button(label, QUESTION_PREFIX + entry_id)

    def _answer_note(self, result: MatchResult) -> tuple[Reply, ...]:
        """Return what follows an answer to only part of a message, or to a personal framing."""
        language = result.language
        if result.reason == "in-part" and result.suggestions:
            # "What prompted the law, and when was it passed?": the other question's entries.
            buttons = tuple(self._suggestion_buttons(result))
            return (Reply(self._text(language, "answered_in_part"), buttons),)
        if result.reason == "framed":
            # "Is the law for people like me?": said for everyone, not for one person's case.
            return (Reply(self._text(language, "framed_case")),)
        if result.gap is not None:
            # "...and when does it take effect?": what the article does not say.
            return (Reply(self._gap_text(language, result.gap)),)
        return ()

    def _suggestion_buttons(self, result: MatchResult) -> list[Button]:
        return [
            self._entry_button(suggestion.entry_id, result.language)
            for suggestion in result.suggestions
        ]

    def _suggest(self, result: MatchResult) -> Reply:
        language = result.language
        buttons = self._suggestion_buttons(result)
        buttons.append(self._button(language, "button_none", NONE_OF_THESE))
        return Reply(self._text(language, "suggest_header"), tuple(buttons))

    def _personal(self, result: MatchResult) -> Reply:
        language = result.language
        key = "personal_case" if result.suggestions else "personal_case_alone"
        buttons = self._suggestion_buttons(result)
        buttons.append(self._button(language, "button_book", BOOK))
        return Reply(self._text(language, key), tuple(buttons))

    def _not_stated(self, result: MatchResult) -> Reply:
        language = result.language
        buttons = self._suggestion_buttons(result)
        buttons.append(self._button(language, "button_book", BOOK))
        if result.gap is not None:
            # "When does it take effect?": say what the article does not say, not just that
            # there is no answer.
            more = "not_said_more_entries" if result.suggestions else "not_said_more"
            text = f"{self._gap_text(language, result.gap)} {self._text(language, more)}"
            return Reply(text, tuple(buttons))
        key = "not_stated" if result.suggestions else "fallback"
        return Reply(self._text(language, key), tuple(buttons))

    def _gap_text(self, language: Language, gap: str) -> str:
        """What the article does not say: `not_said_<gap>`, which `faq check` requires."""
        return self._text(language, f"not_said_{gap}")

    def _fallback(self, state: SessionState, question: str, language: Language) -> Turn:
        reply = Reply(
            self._text(language, "fallback"), (self._button(language, "button_book", BOOK),)
        )
        effects = (UnansweredQuestion(question, language),) if question else ()
        return Turn(replace(state, pending_question=None), (reply,), effects)

    # --- commands --------------------------------------------------------------------------

    def _on_command(
        self,
        state: SessionState,
        name: str,
        language: Language,
        records: PersonData | None,
    ) -> Turn:
        if name == "cancel":
            if state.step is None:
                reply = Reply(self._text(language, "nothing_to_cancel"), self._menu(language))
                return Turn(state, (reply,))
            key = "forget_kept" if state.step == "forget" else "cancelled"
            reply = Reply(self._text(language, key), self._menu(language))
            return Turn(state.without_booking(), (reply,))
        if name == "book":
            return self._start_booking(state, language, urgent=False)
        if name == "forget":
            state = replace(state.without_booking(), step="forget")
            return Turn(state, (self._step_prompt(state, language),))
        if name == "start":
            text = "\n\n".join(
                (self._text(language, "welcome"), self._knowledge.firm.disclaimer[language])
            )
            reply = Reply(text, self._menu(language))
        elif name == "help":
            reply = Reply(self._text(language, "help"), self._menu(language))
        elif name == "topics":
            reply = self._topics(language, 0)
        elif name == "language":
            reply = self._language_prompt(language)
        elif name == "privacy":
            minutes = str(int(self._booking_timeout.total_seconds() // 60))
            reply = Reply(
                self._text(
                    language,
                    "privacy",
                    retention_days=str(self._retention_days),
                    booking_minutes=minutes,
                )
            )
        elif name == "mydata":
            data = records if isinstance(records, PersonData) else PersonData(has_session=False)
            reply = Reply(my_data_report(self._writer, data, language))
        else:
            reply = Reply(self._text(language, "unknown_command"), self._menu(language))
        return self._then_step(state, language, reply)

    # --- buttons ---------------------------------------------------------------------------

    def _on_button(self, state: SessionState, data: str, language: Language) -> Turn:
        if data.startswith(STEP_PREFIX):
            return self._on_step_button(state, data, language)
        if data.startswith(QUESTION_PREFIX):
            entry_id = data.removeprefix(QUESTION_PREFIX)
            if entry_id in self._knowledge.entries:
                state, answer = self._answer(
                    replace(state, pending_question=None), entry_id, language
                )
                return self._then_step(state, language, answer)
        elif data.startswith(MORE_PREFIX):
            entry_id = data.removeprefix(MORE_PREFIX)
            if entry_id in self._knowledge.entries:
                return self._then_step(state, language, self._details(entry_id, language))
        elif data == NONE_OF_THESE and state.step is None:
            return self._fallback(state, state.pending_question or "", language)
        elif data == ASK:
            return self._then_step(state, language, Reply(self._text(language, "ask_prompt")))
        elif data in (BOOK, URGENT_BOOK):
            return self._start_booking(state, language, urgent=data == URGENT_BOOK)
        elif data == TOPICS:
            return self._then_step(state, language, self._topics(language, 0))
        elif data.startswith(_TOPICS_PAGE_PREFIX):
            page = parse_page_number(data.removeprefix(_TOPICS_PAGE_PREFIX))
            if page is not None and page * TOPICS_PER_PAGE < len(self._topic_ids):
                return self._then_step(state, language, self._topics(language, page))
        elif data.startswith(_TOPIC_PREFIX):
            topic_id = data.removeprefix(_TOPIC_PREFIX)
            if topic_id in self._knowledge.topics:
                return self._then_step(state, language, self._topic(topic_id, language))
        elif data == LANGUAGE:
            return self._then_step(state, language, self._language_prompt(language))
        elif data.startswith(_LANGUAGE_PREFIX):
            chosen = data.removeprefix(_LANGUAGE_PREFIX)
            if chosen in LANGUAGES:
                picked: Language = "es" if chosen == "es" else "en"
                state = replace(state, chosen_language=picked, last_language=picked)
                reply = Reply(self._text(picked, "language_set"), self._menu(picked))
                return self._then_step(state, picked, reply)
        return self._stale(state, language)

    def _stale(self, state: SessionState, language: Language) -> Turn:
        reply = Reply(self._text(language, "stale_button"), self._menu(language))
        return self._then_step(state, language, reply)

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
            self._entry_button(entry.id, language)
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

    # --- the booking form --------------------------------------------------------------------

    def _start_booking(self, state: SessionState, language: Language, *, urgent: bool) -> Turn:
        if state.step is not None and state.step not in ("forget", "update"):
            if urgent:
                state = replace(state, draft=replace(state.draft, urgent=True))
            return Turn(state, (self._step_prompt(state, language),))
        draft = BookingDraft(urgent=urgent)
        step: StepName = "update" if state.open_reference is not None else "consent"
        state = replace(state.without_booking(), step=step, draft=draft)
        return Turn(state, (self._step_prompt(state, language),))

    def _then_step(self, state: SessionState, language: Language, *replies: Reply) -> Turn:
        """Reply, then, in the middle of a booking, ask its current question again."""
        if state.step is None:
            return Turn(state, replies)
        return Turn(state, (*replies, self._step_prompt(state, language)))

    def _step_prompt(self, state: SessionState, language: Language) -> Reply:
        assert state.step is not None  # noqa: S101 - only asked in the middle of a form
        step = FORM[state.step]
        urgent = state.draft.urgent
        key = step.urgent_prompt if urgent and step.urgent_prompt else step.prompt
        text = self._text(language, key, **self._prompt_values(state, key, language))
        if state.step == "confirm" and urgent and state.draft.name is not None:
            text += "\n\n" + self._text(language, "summary_urgent")
        shown = step.shown_choices(state.draft, self._hours_confirmed)
        return Reply(
            text,
            self._choice_buttons(step, shown, language),
            request_contact=self._share_label(step, language),
        )

    def _share_label(self, step: FormStep, language: Language) -> str | None:
        """The label of the one-tap "share my phone number", where the step and the channel
        offer it."""
        if self._phone_share and step.offers_contact_button:
            return self._text(language, "button_share_phone")
        return None

    @property
    def _hours_confirmed(self) -> bool:
        return self._knowledge.firm.hours_confirmed

    def _choice_buttons(
        self, step: FormStep, choices: tuple[Choice, ...], language: Language
    ) -> tuple[Button, ...]:
        label = self._writer.label
        return tuple(
            Button(label(choice.label, language), button_data(step.name, choice.value))
            for choice in choices
        )

    def _prompt_values(self, state: SessionState, key: str, language: Language) -> dict[str, str]:
        if key in ("consent_request", "urgent_consent_request"):
            return {"retention_days": str(self._retention_days)}
        if key == "already_booked":
            return {"reference": state.open_reference or ""}
        if key == "ask_time":
            return {"zone": self._writer.zone, "hours": self._knowledge.firm.hours[language]}
        if key == "urgent_summary":
            draft = state.draft
            return {
                "contact": self._contact_of(draft),
                "voicemail": self._writer.voicemail(bool(draft.voicemail_ok), language),
            }
        if key == "summary":
            return {"details": self._summary_details(state.draft, language)}
        return {}

    @staticmethod
    def _contact_of(draft: BookingDraft) -> str:
        return (draft.phone if draft.method == "phone" else draft.email) or ""

    def _summary_details(self, draft: BookingDraft, language: Language) -> str:
        """The summary's lines: only what was asked, and the topic offered when there is none."""
        writer = self._writer
        name = draft.name or self._text(language, "name_not_given")
        lines = [
            self._text(language, "summary_name", name=name),
            self._text(language, "summary_contact", contact=self._contact_of(draft)),
        ]
        if FORM["time"].asked(draft, self._hours_confirmed):
            time = writer.time(draft.preferred_time or "any", language)
            lines.append(self._text(language, "summary_time", time=time))
        if FORM["voicemail"].asked(draft, self._hours_confirmed):
            voicemail = writer.voicemail(bool(draft.voicemail_ok), language)
            lines.append(self._text(language, "summary_voicemail", voicemail=voicemail))
        if draft.topic:
            lines.append(self._text(language, "summary_topic", topic=draft.topic))
        else:
            lines.append("\n" + self._text(language, "summary_topic_offer"))
        return "\n".join(lines)

    def _next_asked(self, state: SessionState, next_step: StepName) -> StepName:
        """The step a valid answer leads to: the next one asked for this draft, or, after a
        correction, the next one still unanswered, else the summary."""
        draft = state.draft
        step = next_step
        while step != "confirm":
            form_step = FORM[step]
            pending = form_step.unanswered is not None and form_step.unanswered(draft)
            if form_step.asked(draft, self._hours_confirmed) and (pending or not state.editing):
                return step
            step = form_step.next_for(draft) or "confirm"
        return step

    def _advance(self, state: SessionState, language: Language, next_step: StepName) -> Turn:
        """Move on after a valid answer: to the next question, or back to the summary."""
        step = self._next_asked(state, next_step)
        state = replace(state, step=step, tries=0, editing=state.editing and step != "confirm")
        return Turn(state, (self._step_prompt(state, language),))

    def _on_step_text(self, state: SessionState, text: str, language: Language) -> Turn:
        assert state.step is not None  # noqa: S101 - only text steps come here
        step = FORM[state.step]
        reading = self._matcher.read(text)
        if reading.medical or reading.urgent:
            if reading.urgent:
                state = replace(state, draft=replace(state.draft, urgent=True))
            if state.step not in _FREE_TEXT_STEPS or reading.medical:
                # "They took my husband" is not a name: give the phone, then ask again.
                replies = self._emergency_replies(reading.urgent, reading.medical, language)
                return self._then_step(state, language, *replies)
        assert step.read_text is not None  # noqa: S101 - _TEXT_STEPS have a reader
        try:
            draft = step.read_text(state.draft, text, self._default_region)
        except ContactError as error:
            return self._invalid(state, language, error.reason)
        next_step = step.next_for(draft) or "confirm"
        return self._advance(replace(state, draft=draft), language, next_step)

    def _invalid(self, state: SessionState, language: Language, reason: str) -> Turn:
        assert state.step is not None  # noqa: S101
        step = FORM[state.step]
        if not step.limited_tries:
            return Turn(state, (Reply(self._text(language, reason)),))
        tries = state.tries + 1
        if tries < MAX_CONTACT_TRIES:
            # The "share my phone number" keyboard stays for the next try.
            reply = Reply(
                self._text(language, reason), request_contact=self._share_label(step, language)
            )
            return Turn(replace(state, tries=tries), (reply,))
        reply = Reply(
            self._text(language, "too_many_tries"),
            self._choice_buttons(step, step.offered_on_retry(), language),
        )
        # What was wrong, then the way out: the first of the two takes a "share my phone
        # number" keyboard away, as the second, with its buttons, cannot.
        return Turn(replace(state, tries=0), (Reply(self._text(language, reason)), reply))

    def _on_contact(self, state: SessionState, contact: SharedContact, language: Language) -> Turn:
        step = FORM[state.step] if state.step is not None else None
        if step is None or not step.takes_contact:
            reply = Reply(self._text(language, "contact_unexpected"))
            return self._then_step(state, language, reply)
        if not contact.is_own:
            # The reply asks for the person's own number: the share button stays.
            share = self._share_label(step, language)
            reply = Reply(self._text(language, "contact_not_yours"), request_contact=share)
            return Turn(state, (reply,))
        try:
            phone = parse_phone(contact.phone, self._default_region)
        except ContactError as error:
            return self._invalid(state, language, error.reason)
        draft = replace(state.draft, method="phone", phone=phone, email=None)
        next_step = step.next_for(draft) or "confirm"
        return self._advance(replace(state, draft=draft), language, next_step)

    def _on_step_button(self, state: SessionState, data: str, language: Language) -> Turn:
        step_name, value = parse_button_data(data)
        if step_name != state.step:
            return self._stale(state, language)
        step = FORM[state.step]
        choice = step.choice(value)
        hidden = choice is not None and choice.shown_if is not None
        if choice is None or (hidden and choice not in self._offered(state, step)):
            return self._stale(state, language)
        draft = step.choose(state.draft, value) if step.choose is not None else state.draft
        state = replace(state, draft=draft)
        if choice.action is not None:
            return self._act(state, choice, language)
        next_step = choice.next or step.next_for(draft)
        if next_step is None:
            return self._stale(state, language)
        if choice.next is not None:
            # Choosing a branch (phone or email) is not an answer: no return to the summary.
            moved = replace(state, step=next_step, tries=0)
            return Turn(moved, (self._step_prompt(moved, language),))
        return self._advance(state, language, next_step)

    def _offered(self, state: SessionState, step: FormStep) -> tuple[Choice, ...]:
        return step.shown_choices(state.draft, self._hours_confirmed)

    def _act(self, state: SessionState, choice: Choice, language: Language) -> Turn:
        action = choice.action
        if action == "submit":
            return self._submit(state, language)
        if action == "cancel":
            return self._on_command(state, "cancel", language, None)
        if action == "edit" and choice.next is not None:
            moved = replace(state, step=choice.next, editing=True, tries=0)
            return Turn(moved, (self._step_prompt(moved, language),))
        if action == "reopen":
            moved = replace(state, step="consent", updating=state.open_reference)
            return Turn(moved, (self._step_prompt(moved, language),))
        if action == "forget":
            reply = Reply(self._text(language, "forgotten"))
            # Everything is deleted; the turn's state keeps only the language this reply is in,
            # so that the channel goes on in it. The service stores no state after a forget.
            after = SessionState(chosen_language=state.chosen_language, last_language=language)
            return Turn(after, (reply,), (ForgetUser(),))
        if action == "decline":
            key = "consent_declined"
        elif action == "keep":
            reference = state.open_reference or ""
            reply = Reply(self._text(language, "kept", reference=reference), self._menu(language))
            return Turn(state.without_booking(), (reply,))
        else:
            key = "forget_kept"
        reply = Reply(self._text(language, key), self._menu(language))
        return Turn(state.without_booking(), (reply,))

    def _submit(self, state: SessionState, language: Language) -> Turn:
        draft = state.draft
        contact_given = draft.phone is not None or draft.email is not None
        if not contact_given or (draft.name is None and not draft.urgent):
            # A confirm can only follow a complete form; anything else restarts the form.
            return self._start_booking(state.without_booking(), language, urgent=draft.urgent)
        reference = state.updating or self._make_reference()
        lead = Lead(
            reference=reference,
            language=language,
            name=draft.name,
            phone=draft.phone if draft.method == "phone" else None,
            email=draft.email if draft.method == "email" else None,
            preferred_time=draft.preferred_time or "any",
            voicemail_ok=bool(draft.voicemail_ok),
            topic=draft.topic or "",
            urgent=draft.urgent,
        )
        if draft.urgent and draft.name is None:
            text = self._text(language, "urgent_booked", reference=reference)
        elif state.updating is not None:
            text = self._text(language, "booking_updated", reference=reference)
        else:
            text = self._text(language, "booked", reference=reference)
        done = replace(state.without_booking(), open_reference=reference)
        effect = SaveLead(lead, update=state.updating is not None)
        return Turn(done, (Reply(text, self._menu(language)),), (effect,))

    def _manage_contact_keyboard(
        self, state: SessionState, replies: tuple[Reply, ...], language: Language
    ) -> tuple[SessionState, tuple[Reply, ...]]:
        """Take the "share my phone number" keyboard away with the next message that can, once.

        A message carries one keyboard: a reply without buttons takes it away itself (the name's
        question, after the contact). One with buttons of its own cannot: then the booking's
        reply says what it understood ("Noted: +12135550147"), which takes the keyboard away;
        and a booking's end (cancelled, expired) goes without its menu rather than add a
        message. A reply that asks for the contact again keeps the keyboard.
        """
        showing = state.contact_keyboard
        managed: list[Reply] = []
        for index, reply in enumerate(replies):
            asks_again = any(later.request_contact for later in replies[index + 1 :])
            if reply.toast or not showing or asks_again or reply.request_contact:
                managed.append(reply)
            elif not reply.buttons:
                showing = False
                managed.append(replace(reply, remove_keyboard=True))
            elif state.step is None:
                showing = False
                managed.append(replace(reply, buttons=(), remove_keyboard=True))
            else:
                showing = False
                contact = self._contact_of(state.draft)
                if contact:
                    noted = self._text(language, "contact_noted", contact=contact)
                else:
                    noted = self._text(language, "noted")
                managed += [Reply(noted, remove_keyboard=True), reply]
            if reply.request_contact:
                showing = True
        return replace(state, contact_keyboard=showing), tuple(managed)


def _entry_shown(result: MatchResult) -> str | None:
    """The entry whose text is the reply: an answer's, or an entry's that says what the
    article does not give ("how much is a consultation?")."""
    if result.outcome == "answer" or result.reason == "declined":
        return result.entry_id
    return None
