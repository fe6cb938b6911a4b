from __future__ import annotations

import pytest

from bot.faq.knowledge import Language
from bot.matching.language import is_other_language, parse_language
from bot.matching.matcher import Matcher


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("안녕하세요. 한국어로 상담 가능한가요?", True),
        ("你好，洛杉矶新的庇护城市法律是什么时候通过的？", True),
        ("Բարև ձեզ, Հայերեն խոսո՞ւմ եք։", True),
        ("سلام، فارسی صحبت می‌کنید؟", True),
        ("Здравствуйте, что нам делать?", True),
        ("Xin chào, luật mới có bảo vệ người không có giấy tờ không?", True),
        ("Olá, a nova lei protege imigrantes? Vocês falam português?", True),
        (
            "Magandang araw po. Gusto ko lang pong malaman kung protektado ba ang mga walang",
            True,
        ),
        ("Hi po, my Tita overstayed. Is the new LA law also for people like her po?", False),
        ("hello po, what can u help me with ba? first time ko gumamit nito", False),
        ("ano ba talaga meaning nito for us immigrants? in simple words lang po", False),
        ("Ano po ang ibig sabihin ng batas na ito para sa mga imigrante?", True),
        ("¿Cuándo aprobaron la ley santuario en Los Ángeles?", False),
        ("la city puede share my data con ICE o no?", False),
        ("LA 🙏", False),
    ],
)
def test_other_languages(text: str, expected: bool) -> None:
    assert is_other_language(text) is expected


def test_words_the_faq_knows_make_taglish_english() -> None:
    text = "pag nag mass deportation si Trump, hindi tutulong ang LA? tama ba"
    assert is_other_language(text)
    assert not is_other_language(text, frozenset({"mass", "deportation", "trump"}))
