"""Reading the FAQ files: every problem is collected with the file and line it comes from.

Loading never stops at the first mistake, so that `python -m bot faq check` can tell a
non-programmer exactly what to fix; `load_knowledge` gives the validated `Knowledge` or raises
`FaqError` listing every error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.faq.knowledge import (
    FIRM_PLACEHOLDERS,
    LANGUAGES,
    MIN_PHRASINGS,
    OWN_SOURCES,
    RULE_GROUPS,
    TELEGRAM_MESSAGE_LIMIT,
    TEXT_PLACEHOLDERS,
    Entry,
    Firm,
    IntentRules,
    Knowledge,
    Language,
    Scope,
    Source,
    Topic,
    bare_reply,
    placeholders_of,
)
from bot.faq.located import Located

ModelT = TypeVar("ModelT", bound=BaseModel)
MONTHS = 12


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the FAQ files, with where it is."""

    path: str
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"


class FaqError(Exception):
    """The FAQ files have errors; `problems` lists them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class ProblemCollector:
    """Reads YAML files under an FAQ folder, gathering every problem with its file and line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def add(self, path: str, line: int, message: str, *, warning: bool = False) -> None:
        self.problems.append(Problem(path, line, message, warning))

    def read(self, path: Path) -> Located | None:
        shown = self.relative(path)
        try:
            text = path.read_text(encoding="utf-8")
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except FileNotFoundError:
            self.add(shown, 1, "file is missing")
            return None
        except UnicodeDecodeError:
            self.add(shown, 1, "file is not UTF-8 text")
            return None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(error, "problem", None) or "not valid YAML"
            self.add(shown, line, f"YAML syntax error: {problem}")
            return None
        return Located(shown, data, node)

    def validate(
        self, model: type[ModelT], located: Located, *loc: str | int, label: str = ""
    ) -> ModelT | None:
        data = located.data
        for key in loc:
            data = data[key]
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for detail in error.errors():
                where = (*loc, *(part for part in detail["loc"] if isinstance(part, str | int)))
                self.add(
                    located.path,
                    located.line(*where),
                    f"{label}{_describe(detail, where)}",
                )
            return None


def _describe(detail: Mapping[str, Any], where: Sequence[str | int]) -> str:
    field_name = ".".join(str(part) for part in where) or "file"
    kind = detail["type"]
    if kind == "missing":
        if where and where[-1] in LANGUAGES:
            return f"missing the '{where[-1]}' language"
        return f"'{field_name}' is missing"
    if kind == "extra_forbidden":
        return f"'{field_name}' is not a known field (check its spelling)"
    if kind == "too_short" and where and where[-1] == "phrasings":
        return f"'{field_name}' needs at least {MIN_PHRASINGS} phrasings"
    return f"'{field_name}': {detail['msg']}"


def _collapse_spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _yaml_files(folder: Path) -> Iterator[Path]:
    yield from sorted(folder.glob("*.yaml"))
    yield from sorted(folder.glob("*.yml"))


def collect_knowledge(faq_dir: Path) -> tuple[Knowledge | None, list[Problem]]:
    """Read and validate every FAQ file; return what loaded and every problem found."""
    faq_dir = faq_dir.resolve()
    found = ProblemCollector(faq_dir)
    if not faq_dir.is_dir():
        found.add(str(faq_dir), 1, "FAQ folder not found (set FAQ_DIR)")
        return None, found.problems

    sources, source_texts = _load_sources(found, faq_dir / "sources")
    topics = _load_topics(found, faq_dir / "topics.yaml")
    firm = _load_single(found, faq_dir / "firm.yaml", Firm)
    scope = _load_single(found, faq_dir / "scope.yaml", Scope)
    intents = _load_intents(found, faq_dir / "intents.yaml")
    synonyms = _load_synonyms(found, faq_dir / "synonyms.yaml")
    texts = _load_texts(found, faq_dir / "texts")
    entries, entry_paths = _load_entries(found, faq_dir / "entries")

    _check_entries(found, entries, entry_paths, sources, source_texts, topics, firm)
    if scope is not None:
        _check_gaps(found, faq_dir / "scope.yaml", scope, texts, entries)

    has_errors = any(not problem.warning for problem in found.problems)
    if has_errors or firm is None or scope is None or intents is None:
        return None, found.problems
    knowledge = Knowledge(
        entries=entries,
        sources=sources,
        source_texts=source_texts,
        topics=topics,
        firm=firm,
        synonyms=synonyms,
        scope=scope,
        intents=intents,
        texts=texts,
        entry_paths=entry_paths,
    )
    return knowledge, found.problems


def load_knowledge(faq_dir: Path) -> Knowledge:
    """Load the FAQ under `faq_dir`; raise `FaqError` listing every error."""
    knowledge, problems = collect_knowledge(faq_dir)
    if knowledge is None:
        raise FaqError([problem for problem in problems if not problem.warning])
    return knowledge


def _load_single(found: ProblemCollector, path: Path, model: type[ModelT]) -> ModelT | None:
    located = found.read(path)
    if located is None:
        return None
    return found.validate(model, located)


def _load_sources(
    found: ProblemCollector, folder: Path
) -> tuple[dict[str, Source], dict[str, str]]:
    sources: dict[str, Source] = {}
    texts: dict[str, str] = {}
    for path in _yaml_files(folder):
        located = found.read(path)
        if located is None:
            continue
        source = found.validate(Source, located)
        if source is None:
            continue
        if source.id in sources or source.id in OWN_SOURCES:
            found.add(located.path, located.line("id"), f"source id '{source.id}' is taken")
            continue
        text_path = folder / source.file
        try:
            texts[source.id] = text_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            found.add(located.path, located.line("file"), f"cannot read '{source.file}'")
            continue
        sources[source.id] = source
    if not sources:
        found.add(found.relative(folder), 1, "no source metadata (*.yaml) found")
    return sources, texts


def _load_topics(found: ProblemCollector, path: Path) -> dict[str, Topic]:
    located = found.read(path)
    topics: dict[str, Topic] = {}
    if located is None:
        return topics
    if not isinstance(located.data, list):
        found.add(located.path, 1, "topics.yaml must be a list of topics")
        return topics
    for index in range(len(located.data)):
        topic = found.validate(Topic, located, index)
        if topic is None:
            continue
        if topic.id in topics:
            found.add(located.path, located.line(index), f"duplicate topic id '{topic.id}'")
        topics[topic.id] = topic
    return topics


def _load_synonyms(found: ProblemCollector, path: Path) -> dict[str, list[str]]:
    located = found.read(path)
    if located is None:
        return {}
    data = located.data
    if not isinstance(data, dict):
        found.add(located.path, 1, "synonyms.yaml must map a word to a list of phrases")
        return {}
    synonyms: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for canonical, variants in data.items():
        line = located.line(str(canonical))
        if not isinstance(canonical, str) or not re.fullmatch(r"[a-z0-9]+", canonical):
            found.add(located.path, line, f"'{canonical}' must be one lower-case word")
            continue
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            found.add(located.path, line, f"'{canonical}' must have a list of phrases")
            continue
        for index, variant in enumerate(variants):
            key = " ".join(variant.casefold().split())
            if key in owner and owner[key] != canonical:
                found.add(
                    located.path,
                    located.line(canonical, index),
                    f"'{variant}' is listed under both '{owner[key]}' and '{canonical}'",
                )
            owner[key] = canonical
        synonyms[canonical] = list(variants)
    return synonyms


def _load_texts(found: ProblemCollector, folder: Path) -> dict[Language, dict[str, str]]:
    texts: dict[Language, dict[str, str]] = {}
    located_by_language: dict[Language, Located] = {}
    for language in LANGUAGES:
        located = found.read(folder / f"{language}.yaml")
        if located is None:
            continue
        if not isinstance(located.data, dict) or not all(
            isinstance(value, str) for value in located.data.values()
        ):
            found.add(located.path, 1, "must map each key to one text")
            continue
        texts[language] = {str(key): value for key, value in located.data.items()}
        located_by_language[language] = located
    if len(texts) == len(LANGUAGES):
        english, spanish = texts["en"], texts["es"]
        for key in sorted(english.keys() - spanish.keys()):
            found.add(located_by_language["es"].path, 1, f"text '{key}' is missing (it is in en)")
        for key in sorted(spanish.keys() - english.keys()):
            found.add(located_by_language["en"].path, 1, f"text '{key}' is missing (it is in es)")
    for language, located in located_by_language.items():
        _check_texts(found, located, texts[language])
    return texts


def _check_gaps(
    found: ProblemCollector,
    path: Path,
    scope: Scope,
    texts: Mapping[Language, Mapping[str, str]],
    entries: Mapping[str, Entry],
) -> None:
    for gap, named in scope.gaps.items():
        for entry_id in named.entries:
            if entry_id not in entries:
                found.add(found.relative(path), 1, f"gap '{gap}' names unknown entry '{entry_id}'")
        for language, language_texts in texts.items():
            if f"not_said_{gap}" not in language_texts:
                found.add(
                    found.relative(path),
                    1,
                    f"gap '{gap}' has no text 'not_said_{gap}' in texts/{language}.yaml",
                )


def _check_texts(found: ProblemCollector, located: Located, texts: Mapping[str, str]) -> None:
    for key, template in texts.items():
        allowed = FIRM_PLACEHOLDERS | TEXT_PLACEHOLDERS.get(key, frozenset())
        unknown = placeholders_of(template) - allowed
        if unknown:
            found.add(
                located.path,
                located.line(key),
                f"text '{key}' uses unknown placeholder(s) {sorted(unknown)}; it may use "
                f"{sorted(allowed)}",
            )
    months = [month.strip() for month in texts.get("month_names", "").split(",")]
    if len(months) != MONTHS or not all(months):
        found.add(
            located.path,
            located.line("month_names"),
            f"'month_names' must list the {MONTHS} months, separated by commas",
        )


def _load_intents(found: ProblemCollector, path: Path) -> IntentRules | None:
    located = found.read(path)
    if located is None:
        return None
    rules = found.validate(IntentRules, located)
    if rules is None:
        return None
    for group in RULE_GROUPS:
        if not rules.phrases(group):
            found.add(located.path, located.line("groups"), f"group '{group}' is missing or empty")
    return rules


def _load_entries(
    found: ProblemCollector, folder: Path
) -> tuple[dict[str, Entry], dict[str, Located]]:
    entries: dict[str, Entry] = {}
    paths: dict[str, Located] = {}
    for path in _yaml_files(folder):
        located = found.read(path)
        if located is None:
            continue
        if not isinstance(located.data, dict):
            found.add(located.path, 1, "an entry file must hold one entry (a mapping)")
            continue
        label = f"[{located.data.get('id', path.stem)}] "
        entry = found.validate(Entry, located, label=label)
        if entry is None:
            continue
        if entry.id in entries:
            found.add(
                located.path,
                located.line("id"),
                f"[{entry.id}] duplicate id (also in {paths[entry.id].path})",
            )
            continue
        entries[entry.id] = entry
        paths[entry.id] = located
    if not entries and not found.problems:
        found.add(found.relative(folder), 1, "no entries found")
    return entries, paths


def _check_entries(
    found: ProblemCollector,
    entries: Mapping[str, Entry],
    paths: Mapping[str, Located],
    sources: Mapping[str, Source],
    source_texts: Mapping[str, str],
    topics: Mapping[str, Topic],
    firm: Firm | None,
) -> None:
    for entry in entries.values():
        where = paths[entry.id]
        label = f"[{entry.id}]"
        if entry.topic not in topics:
            found.add(where.path, where.line("topic"), f"{label} unknown topic '{entry.topic}'")
        for index, related in enumerate(entry.related):
            if related not in entries or related == entry.id:
                found.add(
                    where.path,
                    where.line("related", index),
                    f"{label} related entry '{related}' does not exist",
                )
        _check_source(found, entry, where, sources, source_texts)
        for language in LANGUAGES:
            answer = entry.text(language).answer
            _check_answer(found, entry, where, language, sources.get(entry.source))
            unknown = placeholders_of(answer) - FIRM_PLACEHOLDERS
            if unknown:
                found.add(
                    where.path,
                    where.line(language, "answer"),
                    f"{label} unknown placeholder(s) in the answer: {sorted(unknown)}",
                )
                continue
            filled = answer.format_map(firm.placeholders(language)) if firm else answer
            if len(filled) > TELEGRAM_MESSAGE_LIMIT:
                found.add(
                    where.path,
                    where.line(language, "answer"),
                    f"{label} answer is {len(filled)} characters; Telegram allows "
                    f"{TELEGRAM_MESSAGE_LIMIT}",
                )


def _check_answer(
    found: ProblemCollector,
    entry: Entry,
    where: Located,
    language: Language,
    source: Source | None,
) -> None:
    """Report an answer that opens with a bare yes or no, or details that do not say whose
    and how old (the line under the answer names the source and its date by itself)."""
    localized = entry.text(language)
    line = where.line(language, "answer")
    opening = bare_reply(localized.answer)
    if opening is not None:
        found.add(
            where.path,
            line,
            f"[{entry.id}] the answer opens with a bare '{opening}'; say what the "
            "article says instead (a yes or no reads as a promise about the reader's own case)",
        )
    if source is None:
        return
    if localized.details is None:
        found.add(
            where.path,
            line,
            f"[{entry.id}] needs 'details' in '{language}': what the article says on this "
            'question at more length (the "Read more" button shows it, and the matcher reads '
            "it for what the entry states)",
        )
    elif source.cited_as[language].casefold() not in localized.details.casefold():
        found.add(
            where.path,
            where.line(language, "details"),
            f"[{entry.id}] the details must name their source and date as "
            f'"{source.cited_as[language]}" (sources/{source.id}.yaml, cited_as)',
        )


def _check_source(
    found: ProblemCollector,
    entry: Entry,
    where: Located,
    sources: Mapping[str, Source],
    source_texts: Mapping[str, str],
) -> None:
    label = f"[{entry.id}]"
    if entry.source in OWN_SOURCES:
        return
    if entry.source not in sources:
        found.add(where.path, where.line("source"), f"{label} unknown source '{entry.source}'")
        return
    if not entry.quotes or not all(entry.quotes):
        found.add(where.path, where.line("source"), f"{label} needs a 'quote' from its source")
        return
    text = _collapse_spaces(source_texts[entry.source])
    for index, quote in enumerate(entry.quotes):
        if _collapse_spaces(quote) not in text:
            at = (
                where.line("quote") if isinstance(entry.quote, str) else where.line("quote", index)
            )
            found.add(
                where.path,
                at,
                f"{label} the quote is not found word for word in source '{entry.source}'",
            )
