"""Plain values that cross the layers: a consultation request, what is stored about one
person, and the counts the staff see. The dialogue, storage, the staff messages and the
exports all use these same types."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from bot.faq.knowledge import Language

TimeWindow = Literal["morning", "afternoon", "evening", "any"]
TIME_WINDOWS: tuple[TimeWindow, ...] = get_args(TimeWindow)

_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """Return a short, unguessable lead reference such as "C-7K3QX9"."""
    return "C-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


@dataclass(frozen=True, slots=True)
class Lead:
    """A consultation request, as the person confirmed it.

    An urgent callback asks only for a phone number, so `name` may be None. `created_at` and
    `updated_at` are set by storage.
    """

    reference: str
    language: Language
    name: str | None
    phone: str | None
    email: str | None
    preferred_time: TimeWindow
    voicemail_ok: bool
    topic: str
    urgent: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def contact(self) -> str:
        """The phone number or email the firm should use."""
        return self.phone or self.email or ""


LeadStatus = Literal["received", "claimed", "done"]
LEAD_STATUSES: tuple[LeadStatus, ...] = get_args(LeadStatus)
# What happened to a request, in its history: staff actions, reminders and relayed messages.
EventKind = Literal[
    "claimed", "released", "done", "unreached", "reminded", "to_person", "from_person"
]


@dataclass(frozen=True, slots=True)
class LeadEvent:
    """One line of a request's history. `actor` is the staff member (None for the bot or the
    person); `text` is a relayed message."""

    at: datetime
    kind: EventKind
    actor: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class StoredLead:
    """A stored request with where it stands: its status, who at the firm has it, how often
    they could not reach the person, and (for exports) its history."""

    lead: Lead
    status: LeadStatus = "received"
    owner: str | None = None
    unreached: int = 0
    history: tuple[LeadEvent, ...] = ()
    # Where the person asked: "telegram", or "web" for the chat on the firm's website.
    channel: str = "telegram"


@dataclass(frozen=True, slots=True)
class PersonData:
    """Everything stored about one person, for /mydata."""

    has_session: bool
    draft_step: str | None = None
    leads: tuple[StoredLead, ...] = ()
    unanswered: int = 0


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for the staff's /stats."""

    questions: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    leads: int = 0
    urgent_leads: int = 0
