"""The booking form as a table: each step's question, its buttons, what a typed answer or a
shared contact means, where the step leads, and when it is asked at all.

Button data is built from the table ("b:<step>:<choice>"), the engine walks it, and a test
holds `bot/booking.mmd` against it. A booking is six actions at most: ask, consent, phone or
email, name, (for a phone) voicemail, confirm; the topic is offered on the summary, and the
call window only through "Change something", for a phone, once the firm has confirmed its
hours. An urgent callback walks a shorter path through the same steps (consent, phone,
voicemail, confirm): each step names where it leads when the request is urgent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from bot.dialogue.contacts import (
    ContactError,
    looks_like_email,
    parse_email,
    parse_name,
    parse_phone,
    parse_topic,
)
from bot.dialogue.state import BookingDraft, StepName
from bot.records import TIME_WINDOWS

# Telegram limits callback data to 64 bytes, so it stays short: a prefix, a step, a choice.
STEP_PREFIX = "b:"

Action = Literal["decline", "submit", "cancel", "edit", "reopen", "keep", "forget", "keep_data"]
# Reads a typed answer into the draft; raises `ContactError` (with the text key of the reason)
# when it is not acceptable. The second argument is the default phone region.
TextReader = Callable[[BookingDraft, str, str], BookingDraft]
Chooser = Callable[[BookingDraft, str], BookingDraft]
# Whether a step is asked (or a button shown) for this draft; the second argument says
# whether the firm has confirmed its hours (`hours_confirmed` in firm.yaml).
Condition = Callable[[BookingDraft, bool], bool]


@dataclass(frozen=True, slots=True)
class Choice:
    """A button of a step: its value, its label (a text key) and what choosing it does."""

    value: str
    label: str
    next: StepName | None = None
    action: Action | None = None
    # Offered only after three invalid answers, not with the step's question.
    fallback: bool = False
    # Shown only when this holds.
    shown_if: Condition | None = None


@dataclass(frozen=True, slots=True)
class FormStep:
    """One question of the form."""

    name: StepName
    prompt: str
    next: StepName | None = None
    urgent_prompt: str | None = None
    urgent_next: StepName | None = None
    choices: tuple[Choice, ...] = ()
    read_text: TextReader | None = None
    choose: Chooser | None = None
    takes_contact: bool = False
    offers_contact_button: bool = False
    limited_tries: bool = False
    # After three invalid answers: the values of the choices offered instead.
    retry_choices: tuple[str, ...] = ()
    # Part of the booking drawn in booking.mmd (the /forget question is not).
    booking: bool = True
    # Asked only when this holds; otherwise the form goes on to the step's `next`.
    asked_if: Condition | None = None
    # The step holds a required answer not given yet (after a correction, the form asks it
    # before going back to the summary).
    unanswered: Callable[[BookingDraft], bool] | None = None
    # Whether typed text is read on the urgent path too (the urgent summary takes no topic).
    reads_text_when_urgent: bool = True

    def choice(self, value: str) -> Choice | None:
        """The choice with this value, if the step has one."""
        return next((choice for choice in self.choices if choice.value == value), None)

    def shown_choices(self, draft: BookingDraft, hours_confirmed: bool) -> tuple[Choice, ...]:
        """The buttons shown with the step's question, for this draft."""
        return tuple(
            choice
            for choice in self.choices
            if not choice.fallback
            and (choice.shown_if is None or choice.shown_if(draft, hours_confirmed))
        )

    def asked(self, draft: BookingDraft, hours_confirmed: bool) -> bool:
        """Whether the step is asked for this draft."""
        return self.asked_if is None or self.asked_if(draft, hours_confirmed)

    def reads_text(self, draft: BookingDraft) -> bool:
        """Whether the step waits for typed text (rather than a button) for this draft."""
        return self.read_text is not None and (self.reads_text_when_urgent or not draft.urgent)

    def offered_on_retry(self) -> tuple[Choice, ...]:
        """The buttons offered after three invalid answers."""
        return tuple(choice for choice in self.choices if choice.value in self.retry_choices)

    def next_for(self, draft: BookingDraft) -> StepName | None:
        """Where a valid answer leads, on the urgent path or the ordinary one."""
        if draft.urgent and self.urgent_next is not None:
            return self.urgent_next
        return self.next


def button_data(step: StepName, value: str) -> str:
    """The callback data of one choice of one step."""
    return f"{STEP_PREFIX}{step}:{value}"


def parse_button_data(data: str) -> tuple[str, str]:
    """Split "b:<step>:<choice>" into step and choice (empty strings when malformed)."""
    step, _, value = data.removeprefix(STEP_PREFIX).partition(":")
    return step, value


def _read_name(draft: BookingDraft, text: str, _region: str) -> BookingDraft:
    return replace(draft, name=parse_name(text))


def _read_phone(draft: BookingDraft, text: str, region: str) -> BookingDraft:
    return replace(draft, method="phone", phone=parse_phone(text, region), email=None)


def _read_email(draft: BookingDraft, text: str, _region: str) -> BookingDraft:
    return replace(draft, method="email", email=parse_email(text), phone=None)


def _read_phone_or_email(draft: BookingDraft, text: str, region: str) -> BookingDraft:
    if looks_like_email(text):
        return _read_email(draft, text, region)
    if not any(character.isdigit() for character in text):
        # Neither: say that both are welcome, not only that it is no phone number.
        raise ContactError("contact_invalid")
    return _read_phone(draft, text, region)


def _read_topic(draft: BookingDraft, text: str, _region: str) -> BookingDraft:
    return replace(draft, topic=parse_topic(text) or None)


def _choose_time(draft: BookingDraft, value: str) -> BookingDraft:
    window = next(window for window in TIME_WINDOWS if window == value)
    return replace(draft, preferred_time=window)


def _by_phone(draft: BookingDraft, _hours_confirmed: bool) -> bool:
    return draft.method == "phone"


def _call_window(draft: BookingDraft, hours_confirmed: bool) -> bool:
    return hours_confirmed and draft.method == "phone"


def _choose_voicemail(draft: BookingDraft, value: str) -> BookingDraft:
    return replace(draft, voicemail_ok=value == "yes")


def _skip_topic(draft: BookingDraft, _value: str) -> BookingDraft:
    return replace(draft, topic=None)


_CONTACT_FALLBACKS = (Choice("cancel", "button_cancel", action="cancel", fallback=True),)

FORM: dict[StepName, FormStep] = {
    step.name: step
    for step in (
        FormStep(
            "update",
            prompt="already_booked",
            choices=(
                Choice("yes", "button_update", next="consent", action="reopen"),
                Choice("no", "button_keep", action="keep"),
            ),
        ),
        FormStep(
            "consent",
            prompt="consent_request",
            urgent_prompt="urgent_consent_request",
            next="contact",
            urgent_next="phone",
            choices=(
                Choice("yes", "button_agree"),
                Choice("no", "button_decline", action="decline"),
            ),
        ),
        # One step for the contact: a phone number or an email, typed, or the phone shared
        # with Telegram's own button; the name's question (no buttons) takes that keyboard away.
        FormStep(
            "contact",
            prompt="ask_contact",
            next="name",
            urgent_next="voicemail",
            choices=_CONTACT_FALLBACKS,
            read_text=_read_phone_or_email,
            takes_contact=True,
            offers_contact_button=True,
            limited_tries=True,
            retry_choices=("cancel",),
        ),
        FormStep(
            "phone",
            prompt="ask_phone",
            urgent_prompt="ask_urgent_phone",
            next="name",
            urgent_next="voicemail",
            choices=(
                Choice("email", "button_use_email", next="email", fallback=True),
                *_CONTACT_FALLBACKS,
            ),
            read_text=_read_phone,
            takes_contact=True,
            offers_contact_button=True,
            limited_tries=True,
            retry_choices=("email", "cancel"),
        ),
        FormStep(
            "email",
            prompt="ask_email",
            next="name",
            urgent_next="confirm",
            choices=(
                Choice("phone", "button_use_phone", next="phone", fallback=True),
                *_CONTACT_FALLBACKS,
            ),
            read_text=_read_email,
            limited_tries=True,
            retry_choices=("phone", "cancel"),
        ),
        FormStep(
            "name",
            prompt="ask_name",
            next="voicemail",
            read_text=_read_name,
            unanswered=lambda draft: draft.name is None,
        ),
        FormStep(
            "voicemail",
            prompt="ask_voicemail",
            next="confirm",
            choices=(
                Choice("yes", "button_voicemail_yes"),
                Choice("no", "button_voicemail_no"),
            ),
            choose=_choose_voicemail,
            asked_if=_by_phone,
            unanswered=lambda draft: draft.voicemail_ok is None,
        ),
        # Reached only from "Change something": a call window is not asked on the way.
        FormStep(
            "time",
            prompt="ask_time",
            next="confirm",
            choices=tuple(Choice(window, f"time_{window}") for window in TIME_WINDOWS),
            choose=_choose_time,
            asked_if=_call_window,
        ),
        FormStep(
            "topic",
            prompt="ask_topic",
            next="confirm",
            choices=(Choice("skip", "button_no_topic"),),
            read_text=_read_topic,
            choose=_skip_topic,
        ),
        # The summary offers the topic: a typed reply is the topic, and the summary comes back.
        FormStep(
            "confirm",
            prompt="summary",
            urgent_prompt="urgent_summary",
            next="confirm",
            choices=(
                Choice("yes", "button_confirm", action="submit"),
                Choice("change", "button_change", next="change"),
                Choice("cancel", "button_cancel", action="cancel"),
            ),
            read_text=_read_topic,
            reads_text_when_urgent=False,
        ),
        FormStep(
            "change",
            prompt="change_prompt",
            choices=(
                Choice("name", "button_change_name", next="name", action="edit"),
                Choice("contact", "button_change_contact", next="contact", action="edit"),
                Choice(
                    "time",
                    "button_change_time",
                    next="time",
                    action="edit",
                    shown_if=_call_window,
                ),
                Choice(
                    "voicemail",
                    "button_change_voicemail",
                    next="voicemail",
                    action="edit",
                    shown_if=_by_phone,
                ),
                Choice("topic", "button_change_topic", next="topic", action="edit"),
            ),
        ),
        FormStep(
            "forget",
            prompt="forget_confirm",
            choices=(
                Choice("yes", "button_forget_yes", action="forget"),
                Choice("no", "button_forget_no", action="keep_data"),
            ),
            booking=False,
        ),
    )
}
