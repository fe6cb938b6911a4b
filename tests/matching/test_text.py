from __future__ import annotations

import pytest

from bot.matching.text import PhraseMap, fold, stem, tokenize


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("¿Qué pasó en LOS ÁNGELES?", "que paso en los angeles"),
        ("L.A. police 🚓🚓", "losangeles police"),
        ("LA es santuario", "losangeles es santuario"),
        ("la policía", "la policia"),
        ("Trump\u2019s plan", "trump plan"),
        ("don't   <b>stop</b>", "dont b stop b"),
        ("   ", ""),
        ("\u200b\u200f", ""),
    ],
)
def test_fold_removes_case_accents_punctuation_and_emoji(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_tokenize_splits_folded_words() -> None:
    assert tokenize("SB-54, ¿sí?") == ["sb", "54", "si"]


def test_phrase_map_prefers_the_longest_phrase() -> None:
    phrases = PhraseMap.from_groups({"ice": ["la migra", "migra"], "lawyer": ["abogado"]})
    assert phrases.apply(["la", "migra", "y", "el", "abogado"]) == ["ice", "y", "el", "lawyer"]
    assert phrases.apply(["migra"]) == ["ice"]


def test_phrase_map_finds_phrases_without_replacing() -> None:
    phrases = PhraseMap({"green card": "green card", "daca": "daca"})
    assert phrases.find(["my", "green", "card", "and", "daca"]) == ["daca", "green card"]
    assert phrases.find(["green", "light"]) == []


def test_stem_maps_word_forms_of_both_languages_together() -> None:
    assert stem("deported") == stem("deportations") == stem("deportan")
    assert stem("sb54") == "sb54"
    assert stem("ice") == "ice"
