"""Scores the matcher on the labelled evaluation set (`faq/eval/questions.yaml`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.knowledge import BOOK, LANGUAGES, OUT_OF_SCOPE, EvalQuestion, Language
from bot.matching import Matcher, MatchResult

KINDS = ("in-scope", "out-of-scope", "book")


def percentile(samples: Sequence[float], percent: float) -> float:
    """Return the `percent`-th percentile of `samples` by rank (0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def kind_of(question: EvalQuestion) -> str:
    """Return whether a labelled question is in scope, out of scope, or asks for a person."""
    if question.expect == OUT_OF_SCOPE:
        return "out-of-scope"
    if question.expect == BOOK:
        return "book"
    return "in-scope"


def is_correct(question: EvalQuestion, result: MatchResult) -> bool:
    """Return whether `result` is what the label asks for."""
    kind = kind_of(question)
    if kind == "out-of-scope":
        return result.outcome != "answer"
    if kind == "book":
        return result.intent == BOOK
    return result.outcome == "answer" and result.entry_id == question.expect


@dataclass
class Score:
    """Right answers out of all, for one language and kind."""

    right: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        """The share of right answers, 0 to 1."""
        return self.right / self.total if self.total else 0.0


@dataclass
class EvalReport:
    """Accuracy per language and kind, latency, and the questions that went wrong."""

    scores: dict[tuple[Language, str], Score] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[EvalQuestion, MatchResult]] = field(default_factory=list)

    def rate(self, language: Language, kind: str) -> float:
        """The share of right answers for one language and kind."""
        return self.scores.get((language, kind), Score()).rate

    def percentile_ms(self, percent: float) -> float:
        """Return the `percent`-th percentile of match latency in milliseconds."""
        return percentile(self.latencies_ms, percent)

    def lines(self, *, show_misses: bool = False) -> list[str]:
        """Return the report as printable lines."""
        labels = {
            "in-scope": "in-scope top-1 accuracy",
            "out-of-scope": "out-of-scope rejection",
            "book": "booking intent recognised",
        }
        lines = [f"{'language':<9} {'measure':<28} {'rate':>6} {'right':>11}"]
        for language in LANGUAGES:
            for kind in KINDS:
                score = self.scores.get((language, kind), Score())
                lines.append(
                    f"{language:<9} {labels[kind]:<28} {score.rate:>6.3f} "
                    f"{score.right:>5}/{score.total:<5}"
                )
        lines.append(
            f"match latency over {len(self.latencies_ms)} questions: "
            f"p50 {self.percentile_ms(50):.3f} ms, p99 {self.percentile_ms(99):.3f} ms"
        )
        if show_misses:
            for question, result in self.misses:
                lines.append(
                    f"MISS [{question.lang} {question.expect}] {question.q!r} -> "
                    f"{result.outcome} {result.entry_id} {result.score:.1f} "
                    f"({result.reason}, intent={result.intent})"
                )
        return lines


def evaluate(matcher: Matcher, questions: Sequence[EvalQuestion]) -> EvalReport:
    """Match every question and tally the results."""
    report = EvalReport()
    for question in questions:
        started = time.perf_counter()
        result = matcher.match(question.q)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        score = report.scores.setdefault((question.lang, kind_of(question)), Score())
        score.total += 1
        if is_correct(question, result):
            score.right += 1
        else:
            report.misses.append((question, result))
    return report
