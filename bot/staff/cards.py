"""What the staff chat shows of requests: cards with where each stands and its buttons, digests,
reminders, relayed messages, and the text that replaces a request's details once its person is
forgotten. Pure functions of plain values and the FAQ's texts; `bot.staff.notifier` sends them.

Staff buttons carry `s:<action>:<reference>`: a reference, never a person.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from bot.dialogue.messages import Button
from bot.records import StoredLead
from bot.reports import MESSAGE_LIMIT, LeadWriter, status_line

StaffAction = Literal["take", "done", "unreached", "release", "message"]
STAFF_ACTIONS: tuple[StaffAction, ...] = get_args(StaffAction)

STAFF_PREFIX = "s:"
_SEPARATOR = "\n\n\u2014\u2014\u2014\n\n"
# The buttons under a request, by where it stands.
_ACTIONS_BY_STATUS: Mapping[str, tuple[StaffAction, ...]] = {
    "received": ("take", "unreached", "message"),
    "claimed": ("done", "unreached", "release", "message"),
    "done": (),
}
_BUTTON_KEYS: Mapping[StaffAction, str] = {
    action: f"staff_button_{action}" for action in STAFF_ACTIONS
}

Keyboard = tuple[tuple[Button, ...], ...]


def staff_button_data(action: StaffAction, reference: str) -> str:
    """The callback data of a staff button."""
    return f"{STAFF_PREFIX}{action}:{reference}"


def parse_staff_button(data: str) -> tuple[StaffAction, str] | None:
    """(action, reference) of a staff button, or None when `data` is not one."""
    if not data.startswith(STAFF_PREFIX):
        return None
    action, _, reference = data.removeprefix(STAFF_PREFIX).partition(":")
    for known in STAFF_ACTIONS:
        if known == action and reference:
            return known, reference
    return None


@dataclass(frozen=True, slots=True)
class StaffPost:
    """A staff-chat message: its text and buttons."""

    text: str
    keyboard: Keyboard = ()


class StaffDesk:
    """Writes the staff chat's messages in the staff's language."""

    def __init__(self, writer: LeadWriter) -> None:
        self._writer = writer
        self._language = writer.staff_language

    def _text(self, key: str, /, **values: str) -> str:
        return self._writer.text(self._language, key, **values)

    def local(self, moment: datetime) -> datetime:
        """A moment in the firm's time zone."""
        return self._writer.in_zone(moment)

    # --- cards ---------------------------------------------------------------------------------

    def card(self, stored: StoredLead, kind: str) -> StaffPost:
        """One request: title, details, where it stands, and its buttons."""
        text = self._card_text(stored, kind)
        return StaffPost(text, (self._buttons(stored, with_reference=False),))

    def digest(self, cards: Sequence[tuple[StoredLead, str]]) -> StaffPost:
        """Several requests in one message (a group takes 20 messages a minute)."""
        urgent = sum(1 for stored, _ in cards if stored.lead.urgent)
        count = str(len(cards))
        title = (
            self._text("staff_digest_urgent", count=count, urgent=str(urgent))
            if urgent
            else self._text("staff_digest", count=count)
        )
        entries = [(stored.lead.reference, stored, kind) for stored, kind in cards]
        return self._joined(title, entries)

    def _joined(
        self, title: str | None, cards: Sequence[tuple[str, StoredLead | None, str]]
    ) -> StaffPost:
        """Requests one under the other, each with its buttons; a deleted one (None) shows only
        its reference."""
        parts = [] if title is None else [title]
        parts += [
            self.gone(reference) if stored is None else self._card_text(stored, kind)
            for reference, stored, kind in cards
        ]
        keyboard = tuple(
            row
            for _, stored, _ in cards
            if stored is not None and (row := self._buttons(stored, with_reference=True))
        )
        return StaffPost(_SEPARATOR.join(parts), keyboard)

    def batches(
        self, cards: Sequence[tuple[StoredLead, str]]
    ) -> Iterator[tuple[StaffPost, tuple[int, ...]]]:
        """The staff messages for requests waiting for one chat, with the positions each
        carries: one card alone, several as digests within Telegram's length limit."""
        batch: list[int] = []
        for index in range(len(cards)):
            trial = [*batch, index]
            if batch and len(self.digest([cards[i] for i in trial]).text) > MESSAGE_LIMIT:
                yield self._one_or_digest(cards, batch), tuple(batch)
                trial = [index]
            batch = trial
        yield self._one_or_digest(cards, batch), tuple(batch)

    def _one_or_digest(
        self, cards: Sequence[tuple[StoredLead, str]], indices: Sequence[int]
    ) -> StaffPost:
        if len(indices) == 1:
            stored, kind = cards[indices[0]]
            return self.card(stored, kind)
        return self.digest([cards[index] for index in indices])

    def render(
        self, kind: str, references: Sequence[str], found: Mapping[str, StoredLead]
    ) -> StaffPost:
        """A card, reminder or digest as it should read now; requests no longer stored show
        only their reference."""
        if kind == "digest" or len(references) > 1:
            present = [(found[reference], "new") for reference in references if reference in found]
            if len(present) == len(references):
                return self.digest(present)
            return self._joined(
                None, [(reference, found.get(reference), "new") for reference in references]
            )
        reference = references[0]
        if reference not in found:
            return StaffPost(self.gone(reference))
        return self.card(found[reference], kind)

    def gone(self, reference: str) -> str:
        """What is left of a request whose details were deleted."""
        return self._text("staff_gone", reference=reference)

    def _card_text(self, stored: StoredLead, kind: str) -> str:
        lead = stored.lead
        key = "staff_updated_lead" if kind == "updated" else "staff_new_lead"
        title = self._text(key, reference=lead.reference)
        if lead.urgent:
            title = f"{self._text('staff_urgent')} {title}"
        if kind == "reminder":
            title = f"{self._text('staff_reminder')}\n{title}"
        if stored.channel == "web":
            title = f"{title}\n{self._text('staff_from_web')}"
        writer = self._writer
        body = self._text("staff_lead_body", **writer.describe(lead, self._language))
        return f"{title}\n\n{body}\n\n{self.status(stored)}"

    def status(self, stored: StoredLead) -> str:
        """Where a request stands, in one or two lines."""
        return status_line(self._writer, stored)

    def _buttons(self, stored: StoredLead, *, with_reference: bool) -> tuple[Button, ...]:
        reference = stored.lead.reference
        buttons: list[Button] = []
        for action in _ACTIONS_BY_STATUS[stored.status]:
            label = self._text(_BUTTON_KEYS[action])
            if with_reference and not buttons:
                label = f"{reference} {label}"
            buttons.append(Button(label, staff_button_data(action, reference)))
        return tuple(buttons)

    # --- relays and prompts ----------------------------------------------------------------------

    def relayed(self, reference: str, text: str) -> list[StaffPost]:
        """A person's message, in the staff chat: in numbered parts when it is longer than one
        message holds (a person may write as much as Telegram takes), nothing cut."""
        whole = self._text("staff_relay", reference=reference, text=text)
        if len(whole) <= MESSAGE_LIMIT:
            return [StaffPost(whole)]
        numbered = f"{reference} (99/99)"
        room = MESSAGE_LIMIT - len(self._text("staff_relay", reference=numbered, text=""))
        parts = _split_at_spaces(text, room)
        return [
            StaffPost(
                self._text("staff_relay", reference=f"{reference} ({i}/{len(parts)})", text=part)
            )
            for i, part in enumerate(parts, start=1)
        ]

    def prompt(self, reference: str) -> StaffPost:
        """The bot asking a staff member for the text to send (they answer with a reply)."""
        return StaffPost(self._text("staff_prompt", reference=reference))

    def relay_gone(self, reference: str) -> str:
        """What replaces a relayed message once its person is forgotten."""
        return self._text("staff_relay_gone", reference=reference)

    def manual_delete(self, reference: str) -> str:
        """Asking the staff to delete by hand what the bot could not clear."""
        return self._text("staff_manual_delete", reference=reference)

    def open_digest(self, hours: int, requests: Sequence[StoredLead]) -> str:
        """The daily list of requests open for longer than `hours` (references only)."""
        writer = self._writer
        lines = [self._text("staff_open_digest", hours=str(hours))]
        for stored in requests:
            lines.append(
                self._text(
                    "staff_open_line",
                    reference=stored.lead.reference,
                    received=writer.local_time(stored.lead.created_at),
                    status=self.status(stored).replace("\n", "; "),
                )
            )
        return _cut("\n".join(lines))


def _split_at_spaces(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, broken at a line break or space where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut <= limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
