"""What the bot remembers about one chat between messages, and how it is stored.

The state is a frozen dataclass; a pydantic `TypeAdapter` turns it into JSON and back, so a
stored state that no longer fits (an older version, a damaged row) is detected in one place
and replaced by a fresh state, with a log line that says so and nothing of its contents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, get_args

from pydantic import TypeAdapter, ValidationError

from bot.faq.knowledge import Language
from bot.records import TimeWindow

logger = logging.getLogger(__name__)

StepName = Literal[
    "consent",
    "contact",
    "name",
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
STEP_NAMES: tuple[StepName, ...] = get_args(StepName)
ContactMethod = Literal["phone", "email"]


@dataclass(frozen=True, slots=True)
class BookingDraft:
    """What has been collected so far in a booking; nothing of it is stored before consent."""

    name: str | None = None
    method: ContactMethod | None = None
    phone: str | None = None
    email: str | None = None
    preferred_time: TimeWindow | None = None
    voicemail_ok: bool | None = None
    topic: str | None = None
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the bot remembers about one chat between messages."""

    chosen_language: Language | None = None
    last_language: Language | None = None
    pending_question: str | None = None
    step: StepName | None = None
    draft: BookingDraft = field(default_factory=BookingDraft)
    editing: bool = False
    tries: int = 0
    updating: str | None = None
    open_reference: str | None = None
    active_at: datetime | None = None
    last_press: str | None = None
    # The "share my phone number" keyboard is showing, so the next reply takes it away.
    contact_keyboard: bool = False
    # The article's limits (what the City of Los Angeles is not) were said in this
    # conversation: later answers do not repeat them. A state stored before this field
    # existed reads as False, so its next answer says them once.
    limits_said: bool = False

    def language(self, hint: Language | None = None) -> Language:
        """The language to answer in: chosen, else last used, else the hint, else English."""
        return self.chosen_language or self.last_language or hint or "en"

    def without_booking(self) -> SessionState:
        """The same conversation with no booking in progress."""
        return replace(
            self, step=None, draft=BookingDraft(), editing=False, tries=0, updating=None
        )


_CODEC = TypeAdapter(SessionState)


def encode_state(state: SessionState) -> str:
    """Return `state` as JSON text."""
    return _CODEC.dump_json(state).decode("utf-8")


def decode_state(stored: str | None) -> SessionState:
    """Return the state stored as `stored`; a fresh one when there is none or it is unreadable."""
    if not stored:
        return SessionState()
    try:
        return _CODEC.validate_json(stored)
    except ValidationError as error:
        logger.warning(
            "a stored conversation state could not be read (%d problem(s)); starting afresh",
            error.error_count(),
        )
        return SessionState()
