"""The booking form's table, and its diagram kept in step with it."""

from __future__ import annotations

import re

from bot.dialogue.form import FORM, button_data, parse_button_data
from bot.dialogue.state import STEP_NAMES, BookingDraft, ContactMethod, StepName
from tests.conftest import PROJECT_ROOT

_ARROW = re.compile(r"^\s*(\w+)\s*-->\s*(\w+)\s*:", re.MULTILINE)


_METHODS_AFTER: dict[str, tuple[ContactMethod, ...]] = {"phone": ("phone",), "email": ("email",)}


def _table_arrows() -> set[tuple[str, str]]:
    arrows: set[tuple[str, str]] = set()
    for step in FORM.values():
        if not step.booking:
            continue
        for target in (step.next, step.urgent_next, *(choice.next for choice in step.choices)):
            if target is not None:
                arrows.add((step.name, target))
        # A step asked only for some drafts (the voicemail, for a phone) is passed by others;
        # the phone and email steps settle how the person is reached.
        methods = _METHODS_AFTER.get(step.name, ("phone", "email"))
        for target in (step.next, step.urgent_next):
            if target is None:
                continue
            for method in methods:
                draft = BookingDraft(method=method)
                if not FORM[target].asked(draft, True):
                    skipped_to = FORM[target].next
                    assert skipped_to is not None
                    arrows.add((step.name, skipped_to))
        if step.read_text is not None:
            arrows.add((step.name, step.name))  # an invalid answer asks again
    return arrows


def test_the_diagram_draws_exactly_the_table() -> None:
    drawn = {
        arrow
        for arrow in _ARROW.findall((PROJECT_ROOT / "bot" / "booking.mmd").read_text("utf-8"))
        if arrow[0] in FORM and arrow[1] in FORM
    }
    assert drawn == _table_arrows()


def test_every_step_of_the_table_is_a_known_step_and_leads_somewhere_known() -> None:
    assert set(FORM) <= set(STEP_NAMES)
    for step in FORM.values():
        assert all(choice.next in (None, *FORM) for choice in step.choices)
        assert step.next in (None, *FORM)


def test_button_data_fits_telegram_and_reads_back() -> None:
    for step in FORM.values():
        for choice in step.choices:
            data = button_data(step.name, choice.value)
            assert len(data.encode()) <= 64
            assert parse_button_data(data) == (step.name, choice.value)


def test_the_urgent_path_asks_consent_phone_voicemail_confirm() -> None:
    draft = BookingDraft(urgent=True)
    path: list[str] = []
    step: str | None = "consent"
    while step is not None and step != "confirm":
        path.append(step)
        step = FORM[step].next_for(draft)  # type: ignore[index]
    assert [*path, step] == ["consent", "phone", "voicemail", "confirm"]


def _path(draft: BookingDraft, *, hours_confirmed: bool) -> list[str]:
    """The steps the form asks, from consent to the summary, for a draft already filled in."""
    path: list[str] = []
    step: StepName | None = "consent"
    while step is not None and step != "confirm":
        if FORM[step].asked(draft, hours_confirmed):
            path.append(step)
        step = FORM[step].next_for(draft)
    return [*path, "confirm"]


def test_a_booking_asks_the_voicemail_only_for_a_phone_and_no_call_window_on_the_way() -> None:
    by_phone = BookingDraft(method="phone")
    by_email = BookingDraft(method="email")
    for hours_confirmed in (False, True):
        assert _path(by_phone, hours_confirmed=hours_confirmed) == [
            "consent",
            "contact",
            "name",
            "voicemail",
            "confirm",
        ]
        assert _path(by_email, hours_confirmed=hours_confirmed) == [
            "consent",
            "contact",
            "name",
            "confirm",
        ]


def test_the_call_window_is_offered_only_for_a_phone_once_the_firm_confirmed_its_hours() -> None:
    change = FORM["change"]

    def offered(draft: BookingDraft, hours_confirmed: bool) -> set[str]:
        return {choice.value for choice in change.shown_choices(draft, hours_confirmed)}

    assert "time" not in offered(BookingDraft(method="phone"), False)
    assert "time" in offered(BookingDraft(method="phone"), True)
    assert "time" not in offered(BookingDraft(method="email"), True)
    assert "voicemail" not in offered(BookingDraft(method="email"), True)
