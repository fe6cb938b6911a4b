"""The real FAQ loads; broken copies are reported with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.knowledge import (
    LANGUAGES,
    MIN_PHRASINGS,
    TELEGRAM_MESSAGE_LIMIT,
    FaqError,
    Knowledge,
    collect_knowledge,
    load_knowledge,
)
from tests.conftest import PROJECT_ROOT


def test_real_faq_has_every_entry_in_both_languages(knowledge: Knowledge) -> None:
    assert len(knowledge.entries) >= 10
    for entry in knowledge.entries.values():
        for language in LANGUAGES:
            text = entry.text(language)
            assert len(text.phrasings) >= MIN_PHRASINGS
            assert 0 < len(knowledge.answer(entry.id, language)) <= 700


def test_every_language_has_the_same_texts(knowledge: Knowledge) -> None:
    assert knowledge.texts["en"].keys() == knowledge.texts["es"].keys()


# Every literal key the code asks for, e.g. self._text(language, "welcome") or
# knowledge.text(language, "staff_stats", ...); keys built at run time are listed by hand.
_TEXT_KEY = re.compile(r"(?:_text|\.text|_button)\(\s*\w+,\s*\"([a-z_]+)\"")
_BUILT_KEYS = {f"time_{t}" for t in ("morning", "afternoon", "evening", "any")} | {
    "button_use_email",
    "button_use_phone",
    "greeting",
    "help",
    "edited_message",
    "unsupported_message",
    "consent_reminder",
    "choose_option",
}


def test_every_text_the_code_uses_exists(knowledge: Knowledge) -> None:
    used = set(_BUILT_KEYS)
    for path in (PROJECT_ROOT / "bot").rglob("*.py"):
        used |= set(_TEXT_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 50
    assert used - knowledge.texts["en"].keys() == set()


def test_answers_carry_the_firm_details_from_firm_yaml(knowledge: Knowledge) -> None:
    answer = knowledge.answer("contact-the-firm", "es")
    assert knowledge.firm.phone in answer
    assert knowledge.firm.email in answer
    assert "{" not in answer


def test_every_article_entry_quotes_its_source(knowledge: Knowledge) -> None:
    for entry in knowledge.entries.values():
        if entry.source != "assistant":
            assert entry.quote is not None
            assert entry.quote in knowledge.source_texts[entry.source]


def _problems(faq: Path) -> list[str]:
    _, problems = collect_knowledge(faq)
    return [str(problem) for problem in problems]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_missing_language_is_reported_with_its_line(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\nes:\n")] + "\n", encoding="utf-8")
    problems = _problems(faq_copy)
    assert any(
        re.fullmatch(
            r"faq/entries/news-source\.yaml:1: \[news-source\] missing the 'es' language", p
        )
        for p in problems
    ), problems


def test_quote_not_in_source_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    _edit(path, 'quote: "As reported by', 'quote: "As invented by')
    problems = _problems(faq_copy)
    assert (
        "faq/entries/news-source.yaml:4: [news-source] the quote is not found word for word"
        in (" ".join(problems))
    )


def test_duplicate_id_and_unknown_related_are_reported(faq_copy: Path) -> None:
    _edit(faq_copy / "entries" / "news-source.yaml", "id: news-source", "id: contact-the-firm")
    _edit(
        faq_copy / "entries" / "la-law-approved.yaml",
        "related: [why-la-passed-the-law,",
        "related: [no-such-entry,",
    )
    problems = " ".join(_problems(faq_copy))
    assert "[contact-the-firm] duplicate id" in problems
    assert (
        "faq/entries/la-law-approved.yaml:6: [la-law-approved] related entry 'no-such-entry'"
        in (problems)
    )


def test_answer_over_telegram_limit_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    long_answer = "x" * (TELEGRAM_MESSAGE_LIMIT + 1)
    _edit(path, "  answer: >-\n    This information", f"  answer: >-\n    {long_answer} This")
    assert any("Telegram allows 4096" in problem for problem in _problems(faq_copy))


def test_yaml_syntax_error_names_the_line(faq_copy: Path) -> None:
    (faq_copy / "topics.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    problems = _problems(faq_copy)
    assert any(p.startswith("faq/topics.yaml:2: YAML syntax error") for p in problems), problems


def test_too_few_phrasings_and_unknown_field(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index('    - "who reported this"')
    end = text.index('    - "source?"')
    path.write_text(text[:start] + text[end:] + "colour: red\n", encoding="utf-8")
    problems = " ".join(_problems(faq_copy))
    assert "'en.phrasings' needs at least 10 phrasings" in problems
    assert "'colour' is not a known field" in problems


def test_missing_text_key_in_one_language(faq_copy: Path) -> None:
    _edit(faq_copy / "texts" / "es.yaml", "goodbye:", "despedida:")
    problems = " ".join(_problems(faq_copy))
    assert "faq/texts/es.yaml:1: text 'goodbye' is missing (it is in en)" in problems


def test_load_knowledge_raises_with_every_error(faq_copy: Path) -> None:
    (faq_copy / "firm.yaml").unlink()
    with pytest.raises(FaqError) as raised:
        load_knowledge(faq_copy)
    assert "faq/firm.yaml:1: file is missing" in str(raised.value)
