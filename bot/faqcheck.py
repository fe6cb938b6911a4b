"""`python -m bot faq check`: everything that can be wrong in the FAQ files, with file:line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.dialogue.form import FORM
from bot.faq.knowledge import (
    BOOK,
    LANGUAGES,
    MAX_ANSWER_READ,
    MAX_BUTTON_LABEL,
    Knowledge,
    Language,
)
from bot.faq.loader import Problem, ProblemCollector, collect_knowledge
from bot.matching.evaluation import OUT_OF_SCOPE, collect_eval_set, eval_files
from bot.matching.matcher import QUESTION_WORDS, Matcher
from bot.matching.text import fold

# Two phrasings of different entries this similar (0-100, after normalization) cannot be told
# apart by the matcher.
NEAR_DUPLICATE_SCORE = 95.0


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The problems found, and a one-line summary."""

    problems: list[Problem]
    summary: str

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(not problem.warning for problem in self.problems)


@dataclass(frozen=True, slots=True)
class _Phrasing:
    entry_id: str
    language: Language
    index: int | None  # None for the canonical question
    normalized: str


def check_faq(faq_dir: Path, *, today: date, max_age_days: int) -> CheckReport:
    """Validate every file under `faq_dir`; return problems and a summary."""
    knowledge, problems = collect_knowledge(faq_dir)
    if knowledge is None:
        errors = sum(not problem.warning for problem in problems)
        return CheckReport(problems, f"{faq_dir}: {errors} error(s); fix them and run again")
    matcher = Matcher(knowledge)
    phrasings = list(_phrasings(knowledge, matcher))
    problems += _near_duplicates(knowledge, phrasings)
    problems += _stale_reviews(knowledge, today, max_age_days)
    problems += _empty_topics(knowledge)
    problems += _unconfirmed(knowledge)
    problems += _long_answers(knowledge)
    problems += _long_labels(knowledge, faq_dir)
    eval_count = 0
    phrasing_owner = {
        fold(text): entry.id
        for entry in knowledge.entries.values()
        for language in LANGUAGES
        for text in (entry.text(language).question, *entry.text(language).phrasings)
    }
    valid = {*knowledge.entries, OUT_OF_SCOPE, BOOK}
    for path in eval_files(faq_dir):
        found, count = _check_eval_set(path, faq_dir, phrasing_owner, valid)
        problems += found
        eval_count += count
    errors = sum(not problem.warning for problem in problems)
    warnings = len(problems) - errors
    summary = (
        f"{faq_dir}: {len(knowledge.entries)} entries in {len(LANGUAGES)} languages, "
        f"{len(phrasings)} phrasings, {len(knowledge.sources)} source(s), "
        f"{eval_count} evaluation questions: "
        + ("OK" if errors == 0 else f"{errors} error(s)")
        + (f", {warnings} warning(s)" if warnings else "")
    )
    return CheckReport(problems, summary)


def _phrasings(knowledge: Knowledge, matcher: Matcher) -> Iterator[_Phrasing]:
    for entry in knowledge.entries.values():
        for language in LANGUAGES:
            localized = entry.text(language)
            yield _Phrasing(entry.id, language, None, matcher.normalize(localized.question))
            for index, phrasing in enumerate(localized.phrasings):
                yield _Phrasing(entry.id, language, index, matcher.normalize(phrasing))


def _line(knowledge: Knowledge, phrasing: _Phrasing) -> tuple[str, int]:
    located = knowledge.entry_paths[phrasing.entry_id]
    if phrasing.index is None:
        return located.path, located.line(phrasing.language, "question")
    return located.path, located.line(phrasing.language, "phrasings", phrasing.index)


def _near_duplicates(knowledge: Knowledge, phrasings: list[_Phrasing]) -> list[Problem]:
    problems: list[Problem] = []
    texts = [phrasing.normalized for phrasing in phrasings]
    reported: set[frozenset[str]] = set()
    for position, phrasing in enumerate(phrasings):
        if not phrasing.normalized:
            path, line = _line(knowledge, phrasing)
            problems.append(
                Problem(
                    path,
                    line,
                    f"[{phrasing.entry_id}] every word of this phrasing is a common word, so "
                    "the matcher will never use it; add the words that carry its meaning",
                    warning=True,
                )
            )
            continue
        matches = process.extract(
            phrasing.normalized,
            texts,
            scorer=fuzz.token_sort_ratio,
            score_cutoff=NEAR_DUPLICATE_SCORE,
            limit=None,
        )
        for _, score, other_position in matches:
            other = phrasings[other_position]
            pair = frozenset({phrasing.entry_id, other.entry_id})
            if (
                other_position <= position
                or other.entry_id == phrasing.entry_id
                or pair in reported
                # "when did LA pass it" and "why did LA pass it" are told apart
                or _question_words(phrasing.normalized) != _question_words(other.normalized)
            ):
                continue
            reported.add(pair)
            path, line = _line(knowledge, phrasing)
            other_path, other_line = _line(knowledge, other)
            problems.append(
                Problem(
                    path,
                    line,
                    f"[{phrasing.entry_id}] phrasing is too close (score {score:.0f}) to one of "
                    f"'{other.entry_id}' at {other_path}:{other_line}; the matcher cannot tell "
                    "them apart",
                )
            )
    return problems


def _stale_reviews(knowledge: Knowledge, today: date, max_age_days: int) -> list[Problem]:
    problems: list[Problem] = []
    for entry in knowledge.entries.values():
        age = (today - entry.reviewed).days
        located = knowledge.entry_paths[entry.id]
        if age > max_age_days:
            problems.append(
                Problem(
                    located.path,
                    located.line("reviewed"),
                    f"[{entry.id}] last reviewed {age} days ago (over {max_age_days}); check it "
                    "against its source and update 'reviewed'",
                    warning=True,
                )
            )
        elif age < 0:
            problems.append(
                Problem(
                    located.path,
                    located.line("reviewed"),
                    f"[{entry.id}] 'reviewed' date {entry.reviewed} is in the future",
                )
            )
    return problems


def _unconfirmed(knowledge: Knowledge) -> list[Problem]:
    """A warning for each statement about the firm that waits for the firm to confirm it."""
    firm = knowledge.firm
    waiting = [
        (
            firm.sharing_confirmed,
            "the 'sharing' sentence (what the firm does with people's data, for the privacy "
            "notice and the consent request) waits for the firm to confirm it: until then nobody "
            "is shown it; then set 'sharing_confirmed: true'",
        ),
        (
            firm.hours_confirmed,
            "the firm's 'hours' and 'call_windows' wait for the firm to confirm them: until "
            "then nobody is told them or asked for a time to be called; then set "
            "'hours_confirmed: true'",
        ),
        (
            firm.name_confirmed,
            f"the firm's 'name' ({firm.name!r}) waits for the firm to confirm it: until "
            "then people read 'the law firm' instead; then set 'name_confirmed: true'",
        ),
    ]
    return [
        Problem("firm.yaml", 1, message, warning=True)
        for confirmed, message in waiting
        if not confirmed
    ]


def _long_answers(knowledge: Knowledge) -> list[Problem]:
    """An error for each answer that, as the person reads it in a new chat (the article's
    limits, the phone and the source line included), is longer than a phone screen or two."""
    problems: list[Problem] = []
    for entry in knowledge.entries.values():
        located = knowledge.entry_paths[entry.id]
        for language in LANGUAGES:
            length = len(knowledge.answer_as_read(entry.id, language, limits=True))
            if length > MAX_ANSWER_READ:
                problems.append(
                    Problem(
                        located.path,
                        located.line(language, "answer"),
                        f"[{entry.id}] the answer as read in '{language}' is {length} "
                        f"characters (the article's limits, the phone and the source line "
                        f"included); at most {MAX_ANSWER_READ}: shorten the answer, or move "
                        "some of it to 'details'",
                    )
                )
    return problems


def _long_labels(knowledge: Knowledge, faq_dir: Path) -> list[Problem]:
    """An error for each button label longer than a phone shows on one line: the texts of
    buttons, the topics, and the entries' questions as "did you mean" and related buttons."""
    problems: list[Problem] = []

    def too_long(path: str, line: int, what: str, label: str) -> None:
        if len(label) > MAX_BUTTON_LABEL:
            problems.append(
                Problem(
                    path,
                    line,
                    f"{what} is {len(label)} characters; a button shows at most "
                    f"{MAX_BUTTON_LABEL}: {label!r}",
                )
            )

    form_labels = {choice.label for step in FORM.values() for choice in step.choices}
    for language in LANGUAGES:
        path = faq_dir.resolve() / "texts" / f"{language}.yaml"
        shown = f"{path.parent.parent.name}/texts/{language}.yaml"
        lines = _key_lines(path)
        for key, text in knowledge.texts[language].items():
            if key.startswith(("button_", "staff_button_")) or key in form_labels:
                too_long(shown, lines.get(key, 1), f"button label '{key}'", text)
        for topic in knowledge.topics.values():
            too_long("topics.yaml", 1, f"topic '{topic.id}' ({language})", topic.label(language))
    for entry in knowledge.entries.values():
        located = knowledge.entry_paths[entry.id]
        for language in LANGUAGES:
            localized = entry.text(language)
            field = "short" if localized.short else "question"
            too_long(
                located.path,
                located.line(language, field),
                f"[{entry.id}] the button label ('{language}.{field}'; set a shorter "
                "'short' to show instead)",
                localized.label,
            )
    return problems


def _key_lines(path: Path) -> dict[str, int]:
    """The line each top-level key of a texts file is on."""
    lines: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        key, colon, _ = line.partition(":")
        if colon and key and not key.startswith((" ", "#")):
            lines.setdefault(key, number)
    return lines


def _empty_topics(knowledge: Knowledge) -> list[Problem]:
    used = {entry.topic for entry in knowledge.entries.values()}
    return [
        Problem("topics.yaml", 1, f"topic '{topic_id}' has no entries", warning=True)
        for topic_id in knowledge.topics
        if topic_id not in used
    ]


def _check_eval_set(
    path: Path, faq_dir: Path, phrasing_owner: dict[str, str], valid: set[str]
) -> tuple[list[Problem], int]:
    found = ProblemCollector(faq_dir.resolve())
    questions = collect_eval_set(found, path)
    for question, line in questions:
        if question.expect not in valid:
            found.add(found.relative(path), line, f"'{question.expect}' is not an entry id")
        owner = phrasing_owner.get(fold(question.q))
        if owner is not None:
            found.add(
                found.relative(path),
                line,
                f"question is also a phrasing of '{owner}'; keep the evaluation set apart "
                "from the FAQ",
            )
    return found.problems, len(questions)


def _question_words(normalized: str) -> set[str]:
    return set(normalized.split()) & QUESTION_WORDS
