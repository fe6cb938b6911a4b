"""Validation of what a person types when booking: name, phone number, email, topic.

Phone numbers are parsed with `phonenumbers` (any country; a default region for numbers
written without a country code) and kept in E.164; emails are checked for syntax only with
`email-validator`, never over the network.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

NAME_MAX_LENGTH = 100
TOPIC_MAX_LENGTH = 500

# Zero-width and direction marks carry no meaning in a name, and would let two names that
# look alike differ.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_WHITESPACE = re.compile(r"\s+")


class ContactError(ValueError):
    """A typed value is not acceptable; `reason` names the text that explains why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_text(text: str) -> str:
    """Return `text` without control or invisible characters, spaces collapsed."""
    visible = _INVISIBLE.sub("", text)
    printable = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in visible)
    return _WHITESPACE.sub(" ", printable).strip()


def parse_name(text: str) -> str:
    """Return the cleaned name, or raise `ContactError`."""
    name = clean_text(text)
    if not name or not any(ch.isalpha() for ch in name):
        raise ContactError("name_invalid")
    if len(name) > NAME_MAX_LENGTH:
        raise ContactError("name_too_long")
    return name


def parse_phone(text: str, default_region: str = "US") -> str:
    """Return the number in E.164 form (+12135550147), or raise `ContactError`."""
    candidate = clean_text(text)
    if not any(ch.isdigit() for ch in candidate):
        raise ContactError("phone_invalid")
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise ContactError("phone_country") from None
        raise ContactError("phone_invalid") from None
    if not phonenumbers.is_possible_number(number):
        raise ContactError("phone_length")
    if not phonenumbers.is_valid_number(number):
        raise ContactError("phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """Return the normalized email address, or raise `ContactError`."""
    candidate = clean_text(text)
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise ContactError("email_invalid") from None
    return str(checked.normalized)


def parse_topic(text: str) -> str:
    """Return the cleaned topic (may be empty), or raise `ContactError` when too long."""
    topic = clean_text(text)
    if len(topic) > TOPIC_MAX_LENGTH:
        raise ContactError("topic_too_long")
    return topic


def looks_like_email(text: str) -> bool:
    """Return whether the person probably typed an email address rather than a phone."""
    return "@" in text
