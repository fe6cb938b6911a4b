"""Scores the matcher on labelled evaluation sets (`faq/eval/*.yaml`), category by category."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.faq.knowledge import BOOK, LANGUAGES, Knowledge, Language, bare_reply
from bot.faq.loader import ProblemCollector
from bot.faq.readability import readability
from bot.matching.matcher import Matcher, MatchResult

OUT_OF_SCOPE = "out-of-scope"

Category = Literal[
    "in-scope",
    "out-of-scope",
    "near-miss",
    "personal-case",
    "booking",
    "crisis",
    "crisis-lookalike",
    "reversal",
]
# In the order the report shows them, with what each measures.
CATEGORIES: dict[Category, str] = {
    "in-scope": "answered with the right entry",
    "out-of-scope": "not answered (no entry fits)",
    "near-miss": "not answered (a fact the article does not give)",
    "personal-case": "not answered (a person's own case)",
    "reversal": "not answered with another entry",
    "booking": "booking intent recognised",
    "crisis": "flagged urgent",
    "crisis-lookalike": "not flagged urgent",
}
_NOT_ANSWERED = frozenset({"out-of-scope", "near-miss", "personal-case"})


class EvalQuestion(BaseModel):
    """One labelled question of an evaluation set."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    q: str = Field(min_length=1)
    lang: Language
    expect: str  # an entry id, "out-of-scope", or "book"
    category: Category | None = None
    urgent: bool = False

    @model_validator(mode="after")
    def _default_category(self) -> EvalQuestion:
        if self.category is None:
            implied: Category = (
                "booking"
                if self.expect == BOOK
                else "out-of-scope"
                if self.expect == OUT_OF_SCOPE
                else "in-scope"
            )
            object.__setattr__(self, "category", implied)
        if (self.category == "crisis") != self.urgent:
            raise ValueError("crisis questions, and only they, are marked 'urgent: true'")
        return self

    @property
    def kind(self) -> Category:
        """The category, filled in from `expect` when the file does not name one."""
        assert self.category is not None  # noqa: S101 - set by the validator
        return self.category


def collect_eval_set(found: ProblemCollector, path: Path) -> list[tuple[EvalQuestion, int]]:
    """Read one evaluation file; return each valid question with its line, noting problems."""
    located = found.read(path)
    if located is None:
        return []
    if not isinstance(located.data, list):
        found.add(located.path, 1, "an evaluation set is a list of questions")
        return []
    questions = []
    for index in range(len(located.data)):
        question = found.validate(EvalQuestion, located, index)
        if question is not None:
            questions.append((question, located.line(index)))
    return questions


def load_eval_set(path: Path) -> list[EvalQuestion]:
    """Load the labelled questions of `path`; raise `ValueError` naming every problem."""
    found = ProblemCollector(path.resolve().parent)
    questions = collect_eval_set(found, path)
    if found.problems:
        raise ValueError("\n".join(str(problem) for problem in found.problems))
    return [question for question, _ in questions]


def eval_files(faq_dir: Path) -> list[Path]:
    """The evaluation sets of an FAQ folder."""
    return sorted((faq_dir / "eval").glob("*.yaml"))


def is_correct(question: EvalQuestion, result: MatchResult) -> bool:
    """Return whether `result` is what the label asks for."""
    kind = question.kind
    if kind in _NOT_ANSWERED:
        return result.outcome != "answer"
    if kind == "booking":
        return result.intent == BOOK
    if kind == "crisis":
        return result.urgent
    if kind == "crisis-lookalike":
        return not result.urgent
    if kind == "reversal":
        return result.outcome != "answer" or result.entry_id == question.expect
    # An entry that declines (the fees entry: "the article does not give the firm's fees; call")
    # is never an answer, yet it is the right reply to the question it declines.
    given = result.outcome == "answer" or result.reason == "declined"
    return given and result.entry_id == question.expect


def percentile(samples: Sequence[float], percent: float) -> float:
    """Return the `percent`-th percentile of `samples` by rank (0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


@dataclass
class Score:
    """Right answers out of all, for one language and category."""

    right: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        """The share of right answers, 0 to 1."""
        return self.right / self.total if self.total else 0.0

    def add(self, correct: bool) -> None:
        """Count one question."""
        self.total += 1
        self.right += correct


@dataclass
class EvalReport:
    """Accuracy per language and category, latency, and the questions that went wrong."""

    scores: dict[tuple[Language, Category], Score] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[EvalQuestion, MatchResult]] = field(default_factory=list)
    false_alarms: Score = field(default_factory=Score)
    bare_yes_no: list[str] = field(default_factory=list)
    # In-scope questions whose entry is answered, or offered first under "did you mean".
    offered: dict[Language, Score] = field(default_factory=dict)

    def score(self, category: Category, language: Language | None = None) -> Score:
        """Right out of all for one category, in one language or both."""
        languages = LANGUAGES if language is None else (language,)
        total = Score()
        for each in languages:
            found = self.scores.get((each, category), Score())
            total.right += found.right
            total.total += found.total
        return total

    def rate(self, language: Language | None, category: Category) -> float:
        """The share of right answers for one category, in one language or both."""
        return self.score(category, language).rate

    def percentile_ms(self, percent: float) -> float:
        """Return the `percent`-th percentile of match latency in milliseconds."""
        return percentile(self.latencies_ms, percent)

    def lines(self, *, show_misses: bool = False) -> list[str]:
        """Return the report as printable lines."""
        lines = [f"{'category':<17} {'measure':<48} {'en':>13} {'es':>13} {'all':>13}"]
        for category, measure in CATEGORIES.items():
            cells = [self.score(category, language) for language in (*LANGUAGES, None)]
            if not cells[-1].total:
                continue
            lines.append(_row(category, measure, cells))
            if category == "in-scope":
                offered = [self.offered.get(language, Score()) for language in LANGUAGES]
                both = Score(sum(c.right for c in offered), sum(c.total for c in offered))
                lines.append(_row("", "right entry answered or offered first", [*offered, both]))
        alarms = self.false_alarms
        lines.append(
            f"crisis: recall {self.rate(None, 'crisis'):.3f}; false alarms {alarms.right} "
            f"of {alarms.total} questions that are not a crisis"
        )
        # A medical emergency alone gets "call 911" first, not the firm's urgent reply: it is
        # served first, but not flagged.
        medical = sum(
            1 for question, result in self.misses if question.kind == "crisis" and result.medical
        )
        if medical:
            lines.append(
                f"crisis not flagged but sent to 911 first (a medical emergency): {medical}"
            )
        lines.append(f"answers opening with a bare yes/no: {len(self.bare_yes_no)}")
        lines.append(
            f"match latency over {len(self.latencies_ms)} questions: "
            f"p50 {self.percentile_ms(50):.3f} ms, p99 {self.percentile_ms(99):.3f} ms"
        )
        if show_misses:
            for question, result in self.misses:
                lines.append(
                    f"MISS [{question.lang} {question.kind} {question.expect}] {question.q!r} "
                    f"-> {result.outcome} {result.entry_id} {result.score:.1f} "
                    f"({result.reason}, intent={result.intent}, urgent={result.urgent})"
                )
        return lines


def _row(category: str, measure: str, cells: Sequence[Score]) -> str:
    shown = " ".join(f"{cell.rate:>5.3f} {f'{cell.right}/{cell.total}':>7}" for cell in cells)
    return f"{category:<17} {measure:<48} {shown}"


def evaluate(matcher: Matcher, questions: Sequence[EvalQuestion]) -> EvalReport:
    """Match every question and tally the results."""
    report = EvalReport()
    knowledge = matcher.knowledge
    for question in questions:
        started = time.perf_counter()
        result = matcher.match(question.q)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        correct = is_correct(question, result)
        report.scores.setdefault((question.lang, question.kind), Score()).add(correct)
        if not correct:
            report.misses.append((question, result))
        if question.kind != "crisis":
            report.false_alarms.add(result.urgent)
        if question.kind == "in-scope":
            report.offered.setdefault(question.lang, Score()).add(
                result.entry_id == question.expect
                and (result.outcome in ("answer", "suggest") or result.reason == "declined")
            )
        if result.outcome == "answer" and result.entry_id is not None:
            answer = knowledge.answer(result.entry_id, result.language)
            if bare_reply(answer) is not None:
                report.bare_yes_no.append(question.q)
    return report


@dataclass(frozen=True, slots=True)
class AnswerReading:
    """How one entry's answer reads in one language, as the person reads it."""

    entry_id: str
    language: Language
    # The first answer of a conversation (with the article's limits, for an entry that
    # touches them): what `ask` shows; and the same answer later in the conversation.
    first_chars: int
    later_chars: int
    score: float  # Flesch-Kincaid grade (en) or Fernández-Huerta ease (es), of the first


@dataclass
class ReadingReport:
    """Length and reading level of every entry's answer as read, in both languages."""

    answers: list[AnswerReading] = field(default_factory=list)

    def of(self, language: Language) -> list[AnswerReading]:
        """The answers in `language`."""
        return [answer for answer in self.answers if answer.language == language]

    def median_chars(self, language: Language) -> float:
        """The median length in characters of the first answers in `language`."""
        return statistics.median(answer.first_chars for answer in self.of(language))

    def max_chars(self, language: Language) -> int:
        """The longest first answer in `language`, in characters."""
        return max(answer.first_chars for answer in self.of(language))

    def median_score(self, language: Language) -> float:
        """The median reading score of the answers in `language`."""
        return statistics.median(answer.score for answer in self.of(language))

    def lines(self) -> list[str]:
        """Return the report as printable lines, one per entry, then a summary."""
        lines = [
            "answers as read: characters in a new chat's first answer (later in the chat), "
            "and reading level: en Flesch-Kincaid grade (goal <= 8), es Fernández-Huerta "
            "(goal >= 70)"
        ]
        by_entry: dict[str, dict[Language, AnswerReading]] = {}
        for answer in self.answers:
            by_entry.setdefault(answer.entry_id, {})[answer.language] = answer
        lines.append(f"{'entry':<30} {'en chars':>12} {'grade':>6} {'es chars':>12} {'ease':>6}")
        for entry_id, languages in by_entry.items():
            cells = []
            for language in LANGUAGES:
                answer = languages[language]
                chars = f"{answer.first_chars} ({answer.later_chars})"
                cells.append(f"{chars:>12} {answer.score:>6.1f}")
            lines.append(f"{entry_id:<30} {' '.join(cells)}")
        for language in LANGUAGES:
            lines.append(
                f"{language}: median {self.median_chars(language):.0f} characters, longest "
                f"{self.max_chars(language)}; median reading score "
                f"{self.median_score(language):.1f}"
            )
        return lines


def reading_report(knowledge: Knowledge) -> ReadingReport:
    """Measure every entry's answer as the person reads it, in both languages."""
    report = ReadingReport()
    for entry_id in knowledge.entries:
        for language in LANGUAGES:
            first = knowledge.answer_as_read(entry_id, language, limits=True)
            later = knowledge.answer_as_read(entry_id, language, limits=False)
            report.answers.append(
                AnswerReading(
                    entry_id,
                    language,
                    len(first),
                    len(later),
                    readability(first, language).score,
                )
            )
    return report
