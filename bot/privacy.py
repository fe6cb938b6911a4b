"""Removing contact details from text that is kept (unanswered questions) or matched.

The patterns run in linear time on any input, 4096 characters without a space included: a
match may start only where a run of its characters starts (a lookbehind), and possessive
quantifiers never give back what they took, so no position is scanned twice.
"""

from __future__ import annotations

import re

# A run of address characters, "@", and a domain of at least two labels.
_EMAIL = re.compile(
    r"(?<![^\s<>()\[\],;:\"'])[^\s@<>()\[\],;:\"']++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++"
)
# Seven or more digits, possibly separated by spaces, dots, dashes or brackets, with an
# optional leading +: phone numbers in any country's usual notation.
_PHONE = re.compile(r"(?<![\d+])\+?+\(?+\d(?:[ ().\-]{0,3}+\d){6,}+")

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"


def scrub_contacts(text: str) -> str:
    """Return `text` with email addresses and phone numbers replaced by placeholders."""
    return _replace_contacts(text, EMAIL_MARK, PHONE_MARK)


def strip_contacts(text: str) -> str:
    """Return `text` with email addresses and phone numbers removed."""
    return _replace_contacts(text, " ", " ")


def _replace_contacts(text: str, email: str, phone: str) -> str:
    return _PHONE.sub(phone, _EMAIL.sub(email, text))
