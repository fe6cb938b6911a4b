"""Removing contact details (and, from kept questions, ID numbers and names) from text that is
kept (unanswered questions) or matched.

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

# A Social Security number (123-45-6789) or an A-number (A123456789, A-123-456-789, A# 12345678):
# runs of digits and separators after an optional "A", kept only when their digits count right.
_ID_CANDIDATE = re.compile(r"(?<![\w#-])(?:[Aa][\s#-]{0,2})?\d[\d\s-]{6,12}\d(?![\w-])")
# A name given as such: what follows (up to three words) is taken as the name.
_NAME_TRIGGER = re.compile(
    r"\b(?:my name is|my name's|name is|i am called|me llamo|mi nombre es|se llama|"
    r"su nombre es)\s++",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019-](?=[^\W\d_]))*+")
_NOT_A_NAME = frozenset(
    [
        "and",
        "y",
        "e",
        "but",
        "pero",
        "i",
        "im",
        "from",
        "with",
        "con",
        "que",
        "who",
        "is",
        "es",
        "am",
        "soy",
        "my",
        "mi",
        # What follows "my name is" when no name does: "my name is on the lease".
        "on",
        "in",
        "at",
        "to",
        "not",
        "no",
        "the",
        "a",
        "an",
        "also",
        "still",
        "en",
        "el",
        "un",
        "una",
        "también",
        "todavía",
    ]
)
# Inside a name ("María de la Cruz"), when a name word follows.
_NAME_JOINERS = frozenset(["de", "del", "la", "las", "los", "van", "von", "da", "di"])
NAME_WORDS = 3

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"
ID_MARK = "[id number]"
NAME_MARK = "[name]"


def scrub_contacts(text: str) -> str:
    """Return `text` with email addresses and phone numbers replaced by placeholders."""
    return _replace_contacts(text, EMAIL_MARK, PHONE_MARK)


def strip_contacts(text: str) -> str:
    """Return `text` with email addresses and phone numbers removed."""
    return _replace_contacts(text, " ", " ")


def mark_contacts(text: str, marker: str) -> str:
    """Return `text` with each email address and phone number replaced by `marker`."""
    return _replace_contacts(text, marker, marker)


def _replace_contacts(text: str, email: str, phone: str) -> str:
    return _PHONE.sub(phone, _EMAIL.sub(email, text))


def scrub_personal(text: str) -> str:
    """Return `text` without what names a person: contacts, ID numbers (A-numbers, Social
    Security numbers) and a name given after "my name is" / "me llamo". For the questions kept
    for the firm."""
    return scrub_contacts(_scrub_names(_ID_CANDIDATE.sub(_id_mark, text)))


def _id_mark(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(character.isdigit() for character in found)
    if found[0] in "Aa" and digits in (8, 9):
        return ID_MARK
    if digits == 9 and re.fullmatch(r"\d{3}[\s-]?\d{2}[\s-]?\d{4}", found):
        return ID_MARK
    return found


def _scrub_names(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for trigger in _NAME_TRIGGER.finditer(text):
        if trigger.start() < position:
            continue
        end = trigger.end()
        words = 0
        while words < NAME_WORDS:
            word = _NAME_WORD.match(text, end)
            if word is None or word.group(0).lower() in _NOT_A_NAME:
                break
            if word.group(0).lower() not in _NAME_JOINERS:
                words += 1
            elif not words:
                break
            end = word.end()
            spaces = end
            while spaces < len(text) and text[spaces] == " ":
                spaces += 1
            if words < NAME_WORDS and _NAME_WORD.match(text, spaces):
                end = spaces
        if words:
            name_end = end if text[end - 1 : end] != " " else end - 1
            pieces += [text[position : trigger.end()], NAME_MARK]
            position = name_end
    pieces.append(text[position:])
    return "".join(pieces)
