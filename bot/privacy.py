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
    without_emails = _EMAIL.sub(EMAIL_MARK, text)
    return _PHONE.sub(PHONE_MARK, without_emails)
