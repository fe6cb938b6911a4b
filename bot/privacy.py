"""Removing contact details from text that is kept (unanswered questions)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s@<>()\[\]]+@[^\s@<>()\[\]]+\.[A-Za-z]{2,}")
# Seven or more digits, possibly separated by spaces, dots, dashes or brackets, with an
# optional leading +: phone numbers in any country's usual notation.
_PHONE = re.compile(r"\+?\(?\d(?:[\s().\-]*\d){6,}")

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
