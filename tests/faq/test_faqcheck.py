"""`faq check`: clean on the real FAQ, precise on broken copies."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bot.faqcheck import check_faq
from tests.conftest import FAQ_DIR

TODAY = date(2026, 12, 1)


def test_real_faq_is_clean() -> None:
    report = check_faq(FAQ_DIR, today=TODAY, max_age_days=365)
    assert report.ok
    # The three warnings: the firm has still to confirm its sentence on sharing data, its
    # hours and call windows, and its name.
    assert [problem.path for problem in report.problems] == ["firm.yaml"] * 3
    assert all(problem.warning for problem in report.problems)
    assert "'hours_confirmed: true'" in str(report.problems[1])
    assert "'name_confirmed: true'" in str(report.problems[2])
    assert report.summary.endswith(": OK, 3 warning(s)")


def test_near_duplicate_phrasings_of_two_entries_are_reported(faq_copy: Path) -> None:
    path = faq_copy / "entries" / "news-source.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('"who reported this"', '"can LAPD help ICE?"', 1), encoding="utf-8"
    )
    report = check_faq(faq_copy, today=TODAY, max_age_days=365)
    assert not report.ok
    messages = [str(problem) for problem in report.problems]
    assert any(
        m.startswith("faq/entries/news-source.yaml:")
        and "too close" in m
        and "police-and-deportations" in m
        for m in messages
    ), messages


def test_old_review_is_a_warning_not_an_error(faq_copy: Path) -> None:
    later = TODAY + timedelta(days=400)
    report = check_faq(faq_copy, today=later, max_age_days=365)
    assert report.ok
    warnings = [str(problem) for problem in report.problems if problem.warning]
    assert any(
        w.startswith("faq/entries/news-source.yaml:5: warning: [news-source] last reviewed")
        for w in warnings
    ), warnings


def test_eval_question_copied_from_a_phrasing_is_reported(faq_copy: Path) -> None:
    path = faq_copy / "eval" / "questions.yaml"
    with path.open("a", encoding="utf-8") as file:
        file.write('- {lang: en, expect: california-sb54, q: "What is SB54?"}\n')
    report = check_faq(faq_copy, today=TODAY, max_age_days=365)
    assert any("keep the evaluation set apart" in str(problem) for problem in report.problems)


def test_eval_question_naming_an_unknown_entry(faq_copy: Path) -> None:
    path = faq_copy / "eval" / "questions.yaml"
    with path.open("a", encoding="utf-8") as file:
        file.write('- {lang: en, expect: no-such-entry, q: "anything at all here"}\n')
    report = check_faq(faq_copy, today=TODAY, max_age_days=365)
    assert any("'no-such-entry' is not an entry id" in str(p) for p in report.problems)


def _line_of(path: Path, start: str) -> int:
    return next(
        number
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.startswith(start)
    )


def test_an_answer_too_long_as_read_is_reported_with_its_line(faq_copy: Path) -> None:
    """700 characters as the person reads it in a new chat: the answer, what the article does
    not say, the article's limits, the phone and the source line."""
    path = faq_copy / "entries" / "police-and-deportations.yaml"
    text = path.read_text(encoding="utf-8")
    padding = "The article says so again. " * 12
    path.write_text(
        text.replace("  answer: >-\n    The article says", f"  answer: >-\n    {padding}", 1),
        encoding="utf-8",
    )
    report = check_faq(faq_copy, today=TODAY, max_age_days=365)
    assert not report.ok
    line = _line_of(path, "  answer:")
    messages = [str(problem) for problem in report.problems]
    assert any(
        m.startswith(f"faq/entries/police-and-deportations.yaml:{line}: ")
        and "[police-and-deportations] the answer as read in 'en' is" in m
        and "at most 700" in m
        for m in messages
    ), messages


def test_a_button_label_too_long_for_a_phone_is_reported_with_its_line(faq_copy: Path) -> None:
    texts = faq_copy / "texts" / "es.yaml"
    text = texts.read_text(encoding="utf-8")
    texts.write_text(
        text.replace(
            'button_read_more: "Leer más"',
            'button_read_more: "Leer más sobre lo que dice el artículo"',
        ),
        encoding="utf-8",
    )
    entry = faq_copy / "entries" / "news-source.yaml"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(
        text.replace(
            'short: "Where is this from?"',
            'short: "Where does all of this information come from?"',
        ),
        encoding="utf-8",
    )
    report = check_faq(faq_copy, today=TODAY, max_age_days=365)
    assert not report.ok
    messages = [str(problem) for problem in report.problems]
    label_line = _line_of(texts, "button_read_more:")
    assert any(
        m.startswith(f"faq/texts/es.yaml:{label_line}: button label 'button_read_more' is 38")
        for m in messages
    ), messages
    short_line = _line_of(entry, '  short: "Where does')
    assert any(
        m.startswith(f"faq/entries/news-source.yaml:{short_line}: [news-source] the button label")
        and "at most 32" in m
        for m in messages
    ), messages
