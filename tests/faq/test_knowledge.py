"""The real FAQ loads; broken copies are reported with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.faq.knowledge import (
    LANGUAGES,
    MAX_ANSWER_READ,
    MIN_PHRASINGS,
    OWN_SOURCES,
    TELEGRAM_MESSAGE_LIMIT,
    TEXT_PLACEHOLDERS,
    Knowledge,
)
from bot.faq.loader import FaqError, collect_knowledge, load_knowledge
from tests.conftest import PROJECT_ROOT


def test_real_faq_has_every_entry_in_both_languages(knowledge: Knowledge) -> None:
    assert len(knowledge.entries) >= 10
    for entry in knowledge.entries.values():
        for language in LANGUAGES:
            text = entry.text(language)
            assert len(text.phrasings) >= MIN_PHRASINGS
            assert 0 < len(text.answer) <= MAX_ANSWER_READ
            read = knowledge.answer_as_read(entry.id, language, limits=True)
            assert len(read) <= MAX_ANSWER_READ, (entry.id, language)


def test_every_language_has_the_same_texts(knowledge: Knowledge) -> None:
    assert knowledge.texts["en"].keys() == knowledge.texts["es"].keys()


# Every literal key the code asks for, e.g. self._text(language, "welcome") or
# writer.text(language, "staff_stats", ...); keys built at run time are listed by hand, and
# the booking form's prompts and button labels are read from its table.
_TEXT_KEY = re.compile(r"(?:_text|\.text|_button)\(\s*[\w.]+,\s*\"([a-z_]+)\"")
_BUILT_KEYS = {"time_any"} | {
    "greeting",
    "help",
    "edited_message",
    "unsupported_message",
    "consent_reminder",
    "choose_option",
    "personal_case",
    "personal_case_alone",
    "not_stated",
    "booking_updated",
    "summary",
    "urgent_summary",
    "status_received",
    "status_claimed",
    "status_done",
    "voicemail_yes",
    "voicemail_no",
    "staff_new_lead",
    "staff_updated_lead",
    "forget_kept",
    "cancelled",
    "consent_declined",
}


def _form_keys() -> set[str]:
    from bot.dialogue.form import FORM

    keys = set()
    for step in FORM.values():
        # The call windows are named by the firm (firm.yaml), "any time" by the texts.
        keys |= {
            step.prompt,
            *(
                choice.label
                for choice in step.choices
                if step.name != "time" or choice.value == "any"
            ),
        }
        if step.urgent_prompt:
            keys.add(step.urgent_prompt)
    return keys


def test_every_text_the_code_uses_exists(knowledge: Knowledge) -> None:
    gaps = {f"not_said_{gap}" for gap in knowledge.scope.gaps}
    used = _BUILT_KEYS | _form_keys() | gaps | {"not_said_more", "not_said_more_entries"}
    for path in (PROJECT_ROOT / "bot").rglob("*.py"):
        used |= set(_TEXT_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 80
    assert used - knowledge.texts["en"].keys() == set()


def test_a_misspelt_placeholder_is_reported_with_its_line(faq_copy: Path) -> None:
    path = faq_copy / "texts" / "es.yaml"
    _edit(path, "Gracias. Su solicitud {reference}", "Gracias, {nombre}. Su solicitud {reference}")
    problems = _problems(faq_copy)
    line = next(
        number
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if text.startswith("booked:")
    )
    assert any(
        p.startswith(f"faq/texts/es.yaml:{line}: text 'booked' uses unknown placeholder(s)")
        and "'nombre'" in p
        for p in problems
    ), problems


def test_the_code_must_pass_exactly_the_placeholders_a_text_takes(knowledge: Knowledge) -> None:
    assert TEXT_PLACEHOLDERS["booked"] == {"reference"}
    with pytest.raises(ValueError, match="booked"):
        knowledge.text("en", "booked")
    with pytest.raises(ValueError, match="welcome"):
        knowledge.text("en", "welcome", name="Ana")


def test_every_text_placeholder_in_both_languages_is_known(knowledge: Knowledge) -> None:
    from bot.faq.knowledge import FIRM_PLACEHOLDERS, placeholders_of

    for language in LANGUAGES:
        for key, template in knowledge.texts[language].items():
            allowed = FIRM_PLACEHOLDERS | TEXT_PLACEHOLDERS.get(key, frozenset())
            assert placeholders_of(template) <= allowed, (language, key)


def test_answers_carry_the_firm_details_from_firm_yaml(knowledge: Knowledge) -> None:
    answer = knowledge.answer("contact-the-firm", "es")
    assert knowledge.firm.phone in answer
    assert knowledge.firm.email in answer
    assert "{" not in answer


def test_every_article_entry_quotes_its_source(knowledge: Knowledge) -> None:
    for entry in knowledge.entries.values():
        if entry.source not in OWN_SOURCES:
            assert entry.quotes
            for quote in entry.quotes:
                assert quote in knowledge.source_texts[entry.source]


def test_every_article_answer_names_the_article_and_its_date(knowledge: Knowledge) -> None:
    for entry in knowledge.entries.values():
        if entry.source in OWN_SOURCES:
            continue
        for language in LANGUAGES:
            cited = knowledge.sources[entry.source].cited_as[language]
            assert "2024" in cited
            for limits in (True, False):
                read = knowledge.answer_as_read(entry.id, language, limits=limits)
                assert cited in read.splitlines()[-1], (entry.id, language)
            assert cited in (knowledge.details_as_read(entry.id, language) or ""), entry.id


def test_answers_that_touch_safety_state_the_article_limits(knowledge: Knowledge) -> None:
    safety = {
        "police-and-deportations",
        "city-data-sharing",
        "who-is-protected",
        "what-it-means-for-immigrants",
        "is-la-sanctuary-city",
        "mass-deportations",
    }
    for entry_id in safety:
        assert knowledge.entries[entry_id].limits, entry_id
        for language in LANGUAGES:
            limits = knowledge.text(language, "answer_limits")
            first = knowledge.answer_as_read(entry_id, language, limits=True)
            later = knowledge.answer_as_read(entry_id, language, limits=False)
            assert limits in first, (entry_id, language)
            assert limits not in later, (entry_id, language)
            assert knowledge.firm.phone in first
            assert knowledge.firm.phone in later
    limits = knowledge.text("en", "answer_limits")
    for fact in (
        "City of Los Angeles",
        "ICE",
        "County Sheriff",
        "state",
        "courts",
        "takes effect",
    ):
        assert fact in limits


def test_the_source_line_is_dated_and_in_the_reader_language(knowledge: Knowledge) -> None:
    english = knowledge.source_label("police-and-deportations", "en")
    spanish = knowledge.source_label("police-and-deportations", "es")
    assert english.startswith("From the firm's article of November 2024.")
    assert "things may have changed" in english.lower()
    assert "not legal advice" in english
    assert spanish.startswith("Fuente: el artículo de noviembre de 2024 de la oficina de abogados")
    assert "no asesoría legal" in spanish
    # The date the answer was last reviewed is the firm's (faq check), not the person's.
    reviewed = str(knowledge.entries["police-and-deportations"].reviewed.year)
    assert reviewed not in english
    assert reviewed not in spanish
    # The details name the article with its title.
    details = knowledge.details_as_read("police-and-deportations", "es")
    assert details is not None
    assert '"Los Ángeles aprueba' in details


def test_an_answer_opening_with_a_bare_yes_or_no_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "police-and-deportations.yaml"
    _edit(path, "  answer: >-\n    The article says", "  answer: >-\n    No. The article says")
    _edit(path, "  answer: >-\n    El artículo dice", "  answer: >-\n    Sí, el artículo dice")
    problems = _problems(faq_copy)
    assert any("opens with a bare 'No'" in p for p in problems), problems
    assert any("opens with a bare 'Sí'" in p for p in problems), problems


def test_an_answer_without_its_attribution_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    _edit(
        path, "This information comes from the firm's article of November 2024", "It comes from us"
    )
    problems = _problems(faq_copy)
    assert any(
        "[news-source] the details must name their source and date" in p for p in problems
    ), problems


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
        "faq/entries/la-law-approved.yaml:10: [la-law-approved] related entry 'no-such-entry'"
        in (problems)
    )


def test_answer_over_telegram_limit_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    long_answer = "x" * (TELEGRAM_MESSAGE_LIMIT + 1)
    _edit(path, "  answer: >-\n    This comes", f"  answer: >-\n    {long_answer} This")
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


def test_a_gap_needs_its_text_in_each_language_and_known_entries(faq_copy: Path) -> None:
    _edit(
        faq_copy / "scope.yaml",
        "    entries: [reactions-to-the-law, why-la-passed-the-law]",
        "    entries: [reactions-to-the-law, why-la-passed-the-law]\n"
        "  budget:\n    terms: [budget]\n    entries: [no-such-entry]",
    )
    problems = _problems(faq_copy)
    assert "faq/scope.yaml:1: gap 'budget' names unknown entry 'no-such-entry'" in problems
    assert "faq/scope.yaml:1: gap 'budget' has no text 'not_said_budget' in texts/es.yaml" in (
        problems
    )
