from __future__ import annotations

import pytest

from bot.privacy import EMAIL_MARK, PHONE_MARK, scrub_contacts, scrub_personal


@pytest.mark.parametrize(
    "text",
    [
        "call me at (213) 555-0147 please",
        "mi numero es +52 55 1234 5678",
        "213.555.0147",
        "write to maria.lopez+test@example.com",
    ],
)
def test_scrub_removes_phones_and_emails(text: str) -> None:
    scrubbed = scrub_contacts(text)
    assert "555" not in scrubbed
    assert "1234" not in scrubbed
    assert "@" not in scrubbed
    assert PHONE_MARK in scrubbed or EMAIL_MARK in scrubbed


def test_scrub_keeps_years_and_short_numbers() -> None:
    text = "what did LA approve in 2024 under SB 54?"
    assert scrub_contacts(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@" * 2048, None),  # no domain with a dot: no address, nothing removed
        ("a.b@" * 1024, EMAIL_MARK + "@a.b" * 1022 + "@"),
        ("7" * 4096, PHONE_MARK),
        ("x" * 4000 + " ana@example.org", "x" * 4000 + " " + EMAIL_MARK),
        ("@." * 2048, "@." * 2048),
        ("🙂" * 4095 + "@", "🙂" * 4095 + "@"),
    ],
)
def test_scrubbing_telegram_sized_worst_cases(text: str, expected: str | None) -> None:
    # The time these take is measured in benchmarks/match.py; here, what comes out.
    assert scrub_contacts(text) == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is Rosa Elena Ruiz and ICE came", "my name is [name] and ICE came"),
        ("Hi, my name's Ben, can I travel?", "Hi, my name's [name], can I travel?"),
        ("me llamo María de la Cruz, tengo DACA", "me llamo [name], tengo DACA"),
        (
            "Mi nombre es José y mi esposo fue detenido",
            "Mi nombre es [name] y mi esposo fue detenido",
        ),
        (
            "mi hijo se llama Mateo y está en la escuela",
            "mi hijo se llama [name] y está en la escuela",
        ),
        ("my A-number is A123456789", "my A-number is [id number]"),
        ("mi número A es A-123-456-789", "mi número A es [id number]"),
        ("A# 12345678 what now", "[id number] what now"),
        ("ssn 123-45-6789 is it safe", "ssn [id number] is it safe"),
        ("my social is 123 45 6789", "my social is [id number]"),
        ("call 213-555-0147 or ben@example.org", "call [phone] or [email]"),
        # What is not a name or an ID number stays.
        ("my name is on the lease, am I safe?", "my name is on the lease, am I safe?"),
        ("mi nombre no está en el contrato", "mi nombre no está en el contrato"),
        ("SB 54 from 2017, section 7284.6", "SB 54 from 2017, section 7284.6"),
    ],
)
def test_scrub_personal_removes_names_and_id_numbers(text: str, expected: str) -> None:
    assert scrub_personal(text) == expected


@pytest.mark.parametrize(
    "text",
    ["my name is " * 400, "me llamo " + "ña " * 1300, "A" + "1-" * 2000, "1 " * 2048],
)
def test_scrub_personal_at_telegram_length_ends(text: str) -> None:
    # Linear patterns: 4096 characters of repetition come back at once (timed in benchmarks).
    assert len(scrub_personal(text)) <= len(text) + 64
