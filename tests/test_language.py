from __future__ import annotations

import pytest

from bot.knowledge import Language
from bot.language import parse_language
from bot.matching import Matcher


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("¿La policía ayuda a ICE?", "en", "es"),
        ("la migra puede sacar mis datos", None, "es"),
        ("can the police help ICE", "es", "en"),
        ("sb54?", "es", "es"),
        ("sb54?", "en", "en"),
        ("sb54?", None, "en"),
        ("quiero hablar con un abogado", "en", "es"),
        ("does the law protect people sin papeles", None, "en"),
        ("LA es sanctuary city todavia?", None, "es"),
    ],
)
def test_language_from_text_then_hint(
    matcher: Matcher, text: str, hint: Language | None, expected: Language
) -> None:
    assert matcher.detect_language(text, hint) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es-MX", "es"), ("es", "es"), ("en-US", "en"), ("EN", "en"), ("fr", None), (None, None)],
)
def test_parse_language_codes(code: str | None, expected: Language | None) -> None:
    assert parse_language(code) == expected
