"""Syllables, sentences and the two reading-ease formulas."""

from __future__ import annotations

import pytest

from bot.faq.readability import (
    english_syllables,
    readability,
    sentence_count,
    spanish_syllables,
    words_of,
)


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("law", 1),
        ("make", 1),
        ("changed", 1),
        ("police", 2),
        ("people", 2),
        ("protected", 3),
        ("article", 3),
        ("federal", 3),
        ("immigration", 4),
        ("undocumented", 5),
        ("ICE", 1),
        ("doesn't", 1),
    ],
)
def test_english_syllables(word: str, syllables: int) -> None:
    assert english_syllables(word) == syllables


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("ley", 1),
        ("que", 1),
        ("guerra", 2),
        ("ciudad", 2),
        ("país", 2),
        ("día", 2),
        ("leer", 2),
        ("aunque", 2),
        ("santuario", 3),
        ("policía", 4),
        ("información", 4),
        ("ciudadanía", 5),
    ],
)
def test_spanish_syllables(word: str, syllables: int) -> None:
    assert spanish_syllables(word) == syllables


def test_phone_numbers_and_emails_are_not_words() -> None:
    assert words_of("Call +1 (703) 534-5588 or law@ncls-inc.com, today.") == [
        "Call",
        "or",
        "today",
    ]
    assert sentence_count("One. Two? Three!\nFour: still four; yes") == 4


def test_flesch_kincaid_grade_and_fernandez_huerta_ease() -> None:
    plain = readability("The cat sat. The dog ran.", "en")
    assert (plain.words, plain.sentences, plain.syllables) == (6, 2, 6)
    # 0.39 * 3 + 11.8 * 1 - 15.59
    assert plain.score == pytest.approx(-2.6, abs=0.05)
    hard = readability(
        "The ordinance prohibits municipal cooperation with federal immigration enforcement "
        "authorities regarding deportation operations.",
        "en",
    )
    assert hard.score > 16
    facil = readability("La ley es de la ciudad. Ayuda a la gente.", "es")
    # 206.84 - 60 * 14 / 10 - 1.02 * 10 / 2
    assert (facil.words, facil.sentences, facil.syllables) == (10, 2, 14)
    assert facil.score == pytest.approx(117.7, abs=0.05)
    assert readability("", "es").words == 0
