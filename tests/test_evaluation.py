"""Regression guard: accuracy on the project's evaluation sets may not drop below today's."""

from __future__ import annotations

import pytest

from bot.evaluation import CATEGORIES, eval_files, evaluate, load_eval_set
from bot.matching import Matcher
from tests.conftest import FAQ_DIR

# Measured with `python -m bot faq eval` when the matcher was last tuned; raise them when it
# gets better, never lower them to make a change pass. (language or None for both, category)
FLOORS = {
    ("en", "in-scope"): 0.94,
    ("es", "in-scope"): 0.95,
    (None, "out-of-scope"): 1.0,
    (None, "near-miss"): 0.99,
    (None, "personal-case"): 0.99,
    (None, "reversal"): 0.98,
    ("en", "booking"): 1.0,
    ("es", "booking"): 0.98,
    (None, "crisis"): 1.0,
    (None, "crisis-lookalike"): 1.0,
}


@pytest.fixture(scope="module")
def report(matcher: Matcher):
    questions = [question for path in eval_files(FAQ_DIR) for question in load_eval_set(path)]
    return evaluate(matcher, questions)


@pytest.mark.parametrize(("language", "category"), list(FLOORS))
def test_accuracy_floor(report, language, category: str) -> None:
    rate = report.rate(language, category)
    assert rate >= FLOORS[(language, category)], "\n".join(report.lines(show_misses=True))


def test_no_false_alarm_and_no_bare_yes_or_no(report) -> None:
    assert report.false_alarms.right == 0
    assert report.bare_yes_no == []


def test_eval_sets_are_large_and_cover_every_category() -> None:
    questions = [question for path in eval_files(FAQ_DIR) for question in load_eval_set(path)]
    assert len(questions) >= 1000
    assert {q.lang for q in questions} == {"en", "es"}
    assert {q.kind for q in questions} == set(CATEGORIES)
