"""What goes in and out of the dialogue engine: events, replies and effects, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from bot.faq.knowledge import Language
from bot.records import Lead


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a reply; `data` comes back in a `ButtonPress`."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the person: plain text (the channel escapes it) and its buttons.

    `request_contact` is the label of a "share my phone number" keyboard button, when the
    channel should offer one; `remove_keyboard` takes such a keyboard away; `toast` is a short
    notice for a button press (Telegram shows it as a pop-up) instead of a message.
    `from_firm` marks a staff member's message relayed to the person (the web chat shows who
    wrote it).
    """

    text: str
    buttons: tuple[Button, ...] = ()
    request_contact: str | None = None
    remove_keyboard: bool = False
    toast: bool = False
    from_firm: bool = False


@dataclass(frozen=True, slots=True)
class TextMessage:
    """The person typed something."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The person chose a button.

    `tap` names this one button under this one message, where the channel can tell (Telegram:
    the message's id and the button's data): the same tap twice in a row is a double tap, done
    once. A channel whose requests are idempotent themselves (the web's `client_msg_id`) leaves
    it out.
    """

    data: str
    tap: str | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """The person sent a command such as /start (name without the slash, lower-case)."""

    name: str
    argument: str = ""


@dataclass(frozen=True, slots=True)
class SharedContact:
    """The person shared a phone contact; `is_own` when it is the sender's own number."""

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
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class SaveLead:
    """Store a confirmed request (or update the open one) and notify the staff."""

    lead: Lead
    update: bool


@dataclass(frozen=True, slots=True)
class ForgetUser:
    """Delete everything stored about this person."""


@dataclass(frozen=True, slots=True)
class RelayToStaff:
    """Pass the person's message to the staff handling their request `reference`."""

    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class EndRelay:
    """The person stops writing to the staff of request `reference`."""

    reference: str


Effect = UnansweredQuestion | QuestionAsked | SaveLead | ForgetUser | RelayToStaff | EndRelay
