"""Fuzzy matching of free-text questions to FAQ entries, with an honest "I don't know".

The index is built once from the entries: every canonical question and phrasing, in both
languages, is folded (case, accents, punctuation, emoji), its synonyms mapped to canonical
words and its stopwords dropped. A question then goes through the same steps, plus a light
spelling correction against the FAQ's own vocabulary, and is scored in two stages:

1. a token prefilter: entries are ranked by how much of the question's content they explain
   (IDF-weighted recall over each entry's vocabulary); only the best few go on;
2. a fuzzy re-rank of those entries' phrasings with rapidfuzz.

The decision is `answer` (one clear winner), `suggest` (a few plausible entries) or
`fallback` (nothing close, or the question names a place or process the FAQ does not cover).
An entry answers only what it states: a question about someone's own case, about what
immigration agents do, or asking for something the best entry never states (when the law
takes effect, who signed it) gets `suggest` or `fallback`, never `answer`; and a crisis gets
the firm's phone, not an entry (`bot.matching.reading` tells these apart).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.faq.knowledge import (
    ASSISTANT_SOURCE,
    BOOK,
    LANGUAGES,
    OWN_SOURCES,
    Knowledge,
    Language,
)
from bot.matching.language import STOPWORDS, LanguageDetector, is_other_language
from bot.matching.reading import (
    Reader,
    Reading,
    asks_something,
    own_conditions,
    question_part,
    questions_alone,
    reported_speakers,
    sentences,
    sub_questions,
)
from bot.matching.text import CITY_WORD, PhraseMap, fold, stem
from bot.privacy import strip_contacts

Outcome = Literal["answer", "suggest", "fallback"]
# The thing whose cost is asked: on its own it is not a request for one.
_CONSULTATION_WORDS = frozenset(
    {"consult", "consultation", "consulta", "consultas", "cita", "citas", "appointment"}
)
# After a question about the cost, "can I get one?" asks for the consultation.
_ONE = frozenset({"one", "una", "uno"})
# The canonical word of synonyms.yaml for asking whom a law is for ("is it for", "es para").
_COVERS = "covers"
# The reasons a question about a gap of the article is not answered, and the gap of a
# question about what agents may do ("can ICE still arrest people in LA?").
_GAP_REASONS = frozenset({"not-covered", "not-stated", "low-score", "unsure", "ambiguous"})
ENFORCEMENT_GAP = "ice_actions"
# In a crisis, a question about someone of the story and what the law does for them is theirs.
_SOMEONE_OF_THE_STORY = frozenset({"refers", "self"})
_WHAT_BECOMES_OF_THEM = frozenset({"covers", "outcome", "deport"})
_PLACE_POINTERS = frozenset({"here", "there", "aqui", "alla", "ahi", "alli"})
# "Does this protect...?", "¿esto es para...?": the law, named by a pronoun.
_THE_LAW_AS_PRONOUN = frozenset({"this", "it", "esto", "eso", "esta"})
# "People who overstayed a visa", "los que tienen DACA", "green card holders": people named
# by their status, which is whom a question about coverage asks about.
_PEOPLE_WORDS = frozenset(
    {"people", "those", "someone", "anyone", "immigrants", "gente", "personas", "quienes"}
)
_PEOPLE_PHRASES = ("los que", "las que", "el que", "la que")
_STATUS_HOLDERS = frozenset({"holder", "holders", "recipient", "recipients"})
_PEOPLE_BEFORE_STATUS = 4


def _names_people_by_status(tokens: Sequence[str], statuses: Sequence[str]) -> bool:
    for status in statuses:
        words = status.split()
        for start in range(len(tokens) - len(words) + 1):
            if list(tokens[start : start + len(words)]) != words:
                continue
            before = tokens[max(0, start - _PEOPLE_BEFORE_STATUS) : start]
            after = tokens[start + len(words) : start + len(words) + 1]
            people = not _PEOPLE_WORDS.isdisjoint(before) or any(
                phrase in " ".join(before) for phrase in _PEOPLE_PHRASES
            )
            if people or not _STATUS_HOLDERS.isdisjoint(after):
                return True
    return False


_CLAUSE_BREAK = re.compile(r"[?.!;]|\b(?:and|y|e)\b")
Intent = Literal["book"]

MAX_SUGGESTIONS = 3
# The matcher reads at most this much of a message: a question is a sentence or two, and a
# 4096-character message of one word repeated should cost no more than a short one.
MAX_QUESTION_LENGTH = 600


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Score cut-offs (0-100) of the decision, calibrated on the evaluation set."""

    answer: float = 52.0
    margin: float = 1.0
    suggest: float = 45.0
    # Above this a question is answered even when its words are common ones ("is LA a
    # sanctuary city"): it says nearly exactly what one phrasing says.
    sure: float = 90.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An entry offered as "did you mean"."""

    entry_id: str
    question: str
    score: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher decided about one question."""

    question: str
    language: Language
    outcome: Outcome
    entry_id: str | None
    score: float
    suggestions: tuple[Suggestion, ...]
    intent: Intent | None
    reason: str
    # Someone is in a legal crisis now: detained, agents at the door, a hearing within days.
    urgent: bool = False
    # A danger to life: the bot says to call 911 first (not in the JSON).
    medical: bool = False
    # What the article does not say that the question asks ("take_effect", "county"...: the
    # names of scope.yaml's gaps), when it is not answered (not in the JSON).
    gap: str | None = None

    def to_json(self) -> dict[str, object]:
        """Return the documented JSON shape of `python -m bot ask --json`."""
        return {
            "question": self.question,
            "language": self.language,
            "outcome": self.outcome,
            "entry_id": self.entry_id,
            "score": round(self.score, 1),
            "answer": None,
            "suggestions": [
                {"entry_id": s.entry_id, "question": s.question, "score": round(s.score, 1)}
                for s in self.suggestions
            ],
            "intent": self.intent,
            "urgent": self.urgent,
        }


@dataclass(frozen=True, slots=True)
class _Choice:
    entry: int
    text: str
    total: float


@dataclass(frozen=True, slots=True)
class _Query:
    reading: Reading
    content: list[str]
    text: str


# Spelling correction only rewrites words it is nearly sure of: one edit (a wrong, missing,
# extra or swapped letter) in words of 5 to 7 letters, two from 8 letters; shorter words are
# left alone, since one letter turns "daca" into "data".
_MIN_CORRECTABLE = 5
_LONG_WORD = 8
# How many entries survive the token prefilter into the fuzzy re-rank.
_PREFILTER_ENTRIES = 12
# The score of a phrasing mixes its wording similarity with an overlap of meaning; most of
# the weight is on the meaning, since people rarely word a question like our phrasings.
_FUZZY_WEIGHT = 0.15
# A word the FAQ has never seen is probably what the question is really about ("asylum",
# "Houston"), so it weighs as much as the rarest known word.
_UNKNOWN_WORD_WEIGHT = 0.85
_NOISE_LENGTH = 2
# "Why", "when", "who" and "where" (canonical words of synonyms.yaml) say which of several
# entries about the same law is asked for: "why did the council vote" is not "what did the
# council vote".
QUESTION_WORDS = frozenset({"why", "when", "who", "where"})
_QUESTION_WORD_BOOST = 2.0
# Below the "sure" score, a question of one known word answers only if that word is found in
# at most this many entries: "ICE" alone is asked about in several entries and gets "did you
# mean", while "SB 54" gets an answer.
_SPECIFIC_ENTRIES = 2
# Of the words that say whom a question is about, these are what some entries are about
# (whom the law protects, what this assistant does), not only context.
_TOPICS_OF_WHOM = frozenset({"you", "immigrant", "people", "undocumented"})
# "Who passed it, the mayor or the city council?", "¿fue el alcalde o el concejo?", "¿el alcalde
# o quién?": alternatives of which the article names one.
APPROVAL_GAP = "approval"
_MAYOR = r"(?:mayor|alcalde|alcaldesa|state|estado)"
_COUNCIL = r"(?:council|concejo|cabildo|ayuntamiento)"
_OFFERS_THE_COUNCIL = re.compile(
    rf"\b{_MAYOR}\b(?: \w+){{0,5}}? (?:or|o)(?: \w+){{0,4}}? (?:{_COUNCIL}|quien|who)\b"
    rf"|\b{_COUNCIL}\b(?: \w+){{0,5}}? (?:or|o)(?: \w+){{0,4}}? {_MAYOR}\b"
)
# Words that lean a question toward one entry without being what it asks: "can the police
# still help ICE?" asks what the police may do.
# "They ask me, does the city give information to immigration?": who asks is not what is asked;
# "is this chat legal advice?" names the assistant, whatever it asks of it.
_NEVER_UNSTATED = frozenset(
    # Words of how a question is put ("why did they decide this", "in the first place", "in
    # one line", "is there a lawyer behind it"), not of what it asks.
    {"still", "strengthen", "role", "ask", "chat", "bot", "dec", "first", "lin", "behind"}
    | {"consider", "actual"}
    # "The city cannot share data?": how a claim is put, not what it is about.
    | {"cannot"}
    # "¿Me puedes explicar...?", "si les pongo aquí...": asking and telling, not a topic.
    | {"pued", "pong"}
    # Synonyms' keys that only keep a story's words from reading as a topic (synonyms.yaml):
    # where a rumour was read, agents showing up, deportations ordered.
    | {"socialmedia", "arrive", "orders"}
)
_YEAR = re.compile(r"(?:19|20)\d\d")
# "Yo no tiene papel. ¿Migra saca a mi?" names a status and the agents, which the data-privacy
# entry also names ("do you tell ICE I'm undocumented?"), but asks nothing about this chat.
_WHO_AND_WHO_WOULD_TAKE = frozenset({"ice", "federal", "undocumented", "immigrationstatus"})
# "LA city will cooperate with this or not?": "this" is what the sentence before names.
_POINTS_AT_WHAT_WAS_SAID = re.compile(
    r"\b(?:with|about|on|in|for) (?:this|that)(?= or not| too|$)"
    r"|\b(?:con|en|sobre) (?:eso|esto)(?= o no| tambien|$)"
)
# "Can the sheriff help ICE? Does the new law say anything about that?": the second question
# asks the first again, not a question of its own.
_ABOUT_THAT = re.compile(
    r"\b(?:about (?:that|this|it)|de eso|sobre eso|de esto|sobre esto|al respecto)\b"
)
_ASKS_FOR_CONTENT = frozenset({"what", "whats", "which", "que", "cual", "cuales"})
# Words that name this assistant or this chat ("this bot", "lo que escribo aquí").
_NAMES_THE_ASSISTANT = frozenset({"bot", "chat"})
_NAMES_THE_CITY = frozenset({"city", CITY_WORD})
# A message's question sentences are read alone when they hold this many words the FAQ knows.
_FOCUS_KNOWN_WORDS = 2


class Matcher:
    """Answers free-text questions from a prebuilt index of the FAQ."""

    def __init__(
        self,
        knowledge: Knowledge,
        *,
        thresholds: Thresholds | None = None,
        this_year: int | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self._knowledge = knowledge
        self._entry_ids = list(knowledge.entries)
        self._synonyms = PhraseMap.from_groups(
            knowledge.synonyms, word_forms=True, exact_only=STOPWORDS
        )
        self._canonical_words = frozenset(knowledge.synonyms)
        self._scope = PhraseMap({term: fold(term) for term in knowledge.scope.terms()})
        self._money = frozenset(knowledge.scope.money)
        self._statuses = frozenset(knowledge.scope.statuses)
        self._story_agencies = frozenset(knowledge.scope.agencies)
        self._story_scope = frozenset(knowledge.scope.places) | self._story_agencies
        self._gap_by_term = {
            term: name for name, gap in knowledge.scope.gaps.items() for term in gap.terms
        }
        self._gap_terms = frozenset(self._gap_by_term)
        self._reader = Reader(knowledge.intents, this_year=this_year or datetime.now(UTC).year)
        self._meta_entries = frozenset(
            index
            for index, entry in enumerate(knowledge.entries.values())
            if entry.source in OWN_SOURCES
        )
        self._assistant_entries = frozenset(
            index
            for index, entry in enumerate(knowledge.entries.values())
            if entry.source == ASSISTANT_SOURCE
        )
        self._book_entry = next(
            (entry.id for entry in knowledge.entries.values() if entry.intent == BOOK), None
        )

        raw_vocabulary: dict[Language, set[str]] = {language: set() for language in LANGUAGES}
        entry_raw_words: list[set[str]] = []
        entry_texts: list[list[tuple[list[str], Language]]] = []
        for entry in knowledge.entries.values():
            texts: list[tuple[list[str], Language]] = []
            words: set[str] = set()
            for language in LANGUAGES:
                localized = entry.text(language)
                for text in (localized.question, *localized.phrasings):
                    tokens = fold(text).split()
                    texts.append((tokens, language))
                    words.update(tokens)
                    raw_vocabulary[language].update(tokens)
            entry_raw_words.append(words)
            entry_texts.append(texts)

        self._entry_raw_words = entry_raw_words
        self._english_words = frozenset(raw_vocabulary["en"] - raw_vocabulary["es"])
        self._detector = LanguageDetector(raw_vocabulary["en"], raw_vocabulary["es"])
        self._entry_vocabulary: list[set[str]] = []
        prepared: list[list[list[str]]] = []
        for texts in entry_texts:
            contents = [
                self._content(self._canonical(tokens, language)) for tokens, language in texts
            ]
            prepared.append(contents)
            self._entry_vocabulary.append({word for content in contents for word in content})
        # What each entry states: the words of its questions, of its short answers and of its
        # details (what the source says on it at more length), so that shortening the answer
        # shown takes nothing from what the entry states. Never its `unsaid` line, which names
        # what it does not state. A question is answered by an entry only if every meaningful
        # word it asks about is among them.
        self._stated = [
            vocabulary
            | {
                word
                for language in LANGUAGES
                for text in (entry.text(language).answer, entry.text(language).details or "")
                for word in self._words_of(text, language)
            }
            for vocabulary, entry in zip(
                self._entry_vocabulary, knowledge.entries.values(), strict=True
            )
        ]
        # Words that say whom a question is about ("my husband", "workers") are context, not
        # what it asks.
        self._context = {
            word
            for phrase in [*knowledge.intents.phrases("person"), "you"]
            for word in self._words_of(phrase, "en")
        }
        self._whom = self._context - _TOPICS_OF_WHOM
        self._relatives = {
            word
            for phrase in knowledge.intents.phrases("person")
            if len(phrase.split()) == 1 and phrase not in STOPWORDS
            for word in fold(phrase).split()
        }
        self._concepts = set().union(*self._stated) | self._canonical_words
        self._outcome_words = self._group_words(knowledge, "outcome") | self._context
        # The firm's ways in ("email", "website", "phone number"), and the words of asking for a
        # person ("set up a consultation"), which an entry giving the firm's contacts answers.
        self._channel_words = self._group_words(knowledge, "channel")
        # The firm's entry that gives its ways in (phone, email, website): the meta entry,
        # besides the booking's, that states the most of them. It answers "how do I make an
        # appointment?" before the booking starts.
        ways_in = [
            (len(self._stated[index] & self._channel_words), entry_id)
            for index, entry_id in enumerate(self._entry_ids)
            if index in self._meta_entries and entry_id != self._book_entry
        ]
        self._ways_in_entry = max(ways_in)[1] if ways_in and max(ways_in)[0] else None
        self._booking_words = self._group_words(
            knowledge, "want", "talk", "counsel", "call_me"
        ) | {
            word
            for phrases in knowledge.intents.book.values()
            for phrase in phrases
            for language in LANGUAGES
            for word in self._words_of(phrase, language)
        }
        # "Help", "tengo miedo": words that ask for help and nothing else.
        self._distress_words = self._group_words(knowledge, "distress") | self._context

        entry_count = len(self._entry_ids)
        document_frequency: dict[str, int] = defaultdict(int)
        for vocabulary in self._entry_vocabulary:
            for word in vocabulary:
                document_frequency[word] += 1
        self._idf = {
            word: math.log((entry_count + 1) / (count + 0.5))
            * (_QUESTION_WORD_BOOST if word in QUESTION_WORDS else 1.0)
            for word, count in document_frequency.items()
        }
        # Whom a question is about ("my mom", "mi primo") is found in few entries, but it says
        # little about what is asked: it weighs as much as a word found in half of them.
        whom_weight = math.log((entry_count + 1) / (entry_count / 2 + 0.5))
        for word in self._whom:
            if word in self._idf:
                self._idf[word] = min(self._idf[word], whom_weight)
        self._unknown_weight = _UNKNOWN_WORD_WEIGHT * max(self._idf.values(), default=1.0)
        self._min_specificity = math.log((entry_count + 1) / (_SPECIFIC_ENTRIES + 0.5))
        self._entries_by_word: dict[str, list[int]] = defaultdict(list)
        for index, vocabulary in enumerate(self._entry_vocabulary):
            for word in vocabulary:
                self._entries_by_word[word].append(index)

        self._choices: list[_Choice] = []
        self._choices_by_word: dict[str, list[int]] = defaultdict(list)
        for index, contents in enumerate(prepared):
            for content in contents:
                if not content:
                    continue
                for word in content:
                    self._choices_by_word[word].append(len(self._choices))
                total = sum(self._idf[word] for word in content)
                self._choices.append(_Choice(index, " ".join(content), total))

        known = {word for words in entry_raw_words for word in words}
        known |= self._synonyms.words | self._reader.words
        known |= {word for word in STOPWORDS if len(word) >= _MIN_CORRECTABLE}
        self._known_words = known
        self._correctable = sorted(known)
        self._scope_words = {
            word for term in knowledge.scope.terms() for word in fold(term).split()
        }

    @property
    def knowledge(self) -> Knowledge:
        """The knowledge this index was built from."""
        return self._knowledge

    @property
    def size(self) -> int:
        """How many phrasings the index holds."""
        return len(self._choices)

    def normalize(self, text: str) -> str:
        """Return `text` as the index sees it: folded, synonyms mapped, stopwords dropped."""
        tokens = fold(text).split()
        language = self._detector.detect(text, tokens)
        return " ".join(self._content(self._canonical(tokens, language)))

    def read(self, text: str) -> Reading:
        """Return what `text` wants besides its topic (a crisis, a person, its own case)."""
        return self._reader.read(text[:MAX_QUESTION_LENGTH])

    def _books_besides_cost(self, text: str) -> bool:
        """Whether a question about what a consultation costs also asks for one ("how much is
        it, and can I get one this week?", "cuánto cobran la consulta, quiero una cita"): a
        clause without the cost, its "one" read as the consultation, or the whole without the
        cost and the consultation it is the cost of, still asks for a person."""
        money = [term.split() for term in self._money]

        def without_cost(words: list[str]) -> tuple[list[str], bool]:
            kept: list[str] = []
            found = priced = False
            index = 0
            while index < len(words):
                term = next((t for t in money if words[index : index + len(t)] == t), None)
                if term is not None:
                    index += len(term)
                    found = priced = True
                    # "What does a consultation cost?": the consultation it is the cost of.
                    if kept and kept[-1] in _CONSULTATION_WORDS:
                        kept.pop()
                        priced = False
                    continue
                if priced and words[index] in _CONSULTATION_WORDS:
                    priced = False  # what the cost is asked of
                else:
                    kept.append(words[index])
                index += 1
            return kept, found

        for clause in _CLAUSE_BREAK.split(fold(text)):
            words, costs = without_cost(clause.split())
            if words and not costs:
                meant = ["a consultation" if word in _ONE else word for word in words]
                if self._reader.read(" ".join(meant)).book:
                    return True
        rest, _ = without_cost(fold(text).split())
        return self._reader.read(" ".join(rest)).book

    def detect_language(self, text: str, hint: Language | None = None) -> Language:
        """Return the language `text` is written in, `hint` breaking ties."""
        return self._detector.detect(text, fold(text).split(), hint)

    def match(self, text: str, language_hint: Language | None = None) -> MatchResult:
        """Decide how to answer `text`: one entry, a few suggestions, or no answer."""
        result = self._decide(text[:MAX_QUESTION_LENGTH], language_hint)
        if result.urgent or result.medical:
            # "ICE is outside my job right now, can the police help them?": the crisis first,
            # then the answer to what was asked, when the article gives one.
            asked = self._decide(text[:MAX_QUESTION_LENGTH], language_hint, crisis=False)
            if (
                asked.outcome == "answer"
                and asked.intent is None
                and not self._declines(asked.entry_id)
                and not self._asks_for_own_case(text)
            ):
                return replace(asked, urgent=result.urgent, medical=result.medical)
            return result
        if result.outcome == "answer" and self._declines(result.entry_id):
            # "How much is a consultation?": the entry says the article does not give it.
            return replace(result, outcome="fallback", reason="declined")
        if result.outcome == "answer" or result.reason not in _GAP_REASONS:
            return result
        gap = self._gap_of(question_part(result.question))
        if (
            gap is None
            and result.reason == "not-stated"
            and self.read(result.question).enforcement
        ):
            gap = ENFORCEMENT_GAP
        if gap not in self._knowledge.scope.gaps:
            return result
        if gap == APPROVAL_GAP and _OFFERS_THE_COUNCIL.search(fold(result.question)):
            # "Was it the mayor or the city council?": the article says the council approved
            # it, and the reply says what it does not say of the mayor.
            entry_id = self._knowledge.scope.gaps[gap].entries[0]
            return replace(
                result,
                outcome="answer",
                entry_id=entry_id,
                suggestions=(),
                gap=gap,
                reason="alternatives",
            )
        answered = self._answered_besides(result.question, language_hint)
        if answered is not None:
            # "What does the law do, and when does it take effect?": the first is answered,
            # and the reply says the article does not say the second.
            return replace(answered, question=result.question, gap=gap)
        # What the article does say nearest to the gap: its own entries, not the score's.
        nearest = (
            tuple(
                Suggestion(
                    entry_id, self._knowledge.entries[entry_id].text(result.language).question, 0.0
                )
                for entry_id in self._knowledge.scope.gaps[gap].entries
            )
            or result.suggestions
        )
        outcome: Outcome = "suggest" if nearest else "fallback"
        first = nearest[0].entry_id if nearest else None
        return replace(result, gap=gap, outcome=outcome, entry_id=first, suggestions=nearest)

    def _asks_for_own_case(self, text: str) -> bool:
        """Whether a message telling of a crisis asks nothing but what to do or what becomes
        of the people in it ("ICE just took my husband", "what do we do?", "will the law
        protect him?", "¿lo van a deportar?")."""
        if not asks_something(text) or "advice" in self._reader.groups(text):
            return True
        groups = self._reader.groups(question_part(text))
        return bool(groups & _SOMEONE_OF_THE_STORY) and bool(groups & _WHAT_BECOMES_OF_THEM)

    def _declines(self, entry_id: str | None) -> bool:
        return entry_id is not None and self._knowledge.entries[entry_id].declines

    def _answered_besides(self, text: str, language_hint: Language | None) -> MatchResult | None:
        """Return the answer to a question of `text` that names no gap, if one is answered."""
        parts = sub_questions(text)
        if len(parts) < 2:
            return None
        for part in parts:
            if self._gap_of(part) is None and not _ABOUT_THAT.search(fold(part)):
                result = self._decide(part, language_hint)
                # Read alone, "...y quién la impulsó?" loses what "la" is: only a sure answer.
                if (
                    result.outcome == "answer"
                    and result.intent is None
                    and result.score >= self.thresholds.sure
                ):
                    return result
        return None

    def _gap_of(self, asked: str) -> str | None:
        """Return the first of scope.yaml's gaps that `asked` names, if any."""
        for term in self._scope.find(fold(strip_contacts(asked)).split()):
            if term in self._gap_by_term:
                return self._gap_by_term[term]
        return None

    def _decide(
        self, text: str, language_hint: Language | None, *, crisis: bool = True
    ) -> MatchResult:
        """Read `text` and decide; with `crisis` false, as if it told of no crisis (what else
        it asks)."""
        raw_tokens = _asked_tokens(text)
        language = self._detector.detect(text, raw_tokens, language_hint)
        reading = self.read(text)
        if not crisis:
            reading = replace(reading, urgent=False, medical=False)
        intent: Intent | None = BOOK if reading.book else None
        content = self._content_of(raw_tokens, language)
        whole_content = content
        # What the message asks is in its question sentences; its story is context. A crisis,
        # a danger to life or a wish to talk to someone counts wherever it is said.
        # A story's place or case still counts when the question points back at it ("does
        # it protect him?", "¿me aplica?").
        scope_tokens = raw_tokens
        story_tokens: list[str] = []
        story_scope = self._story_scope
        focus_text = question_part(text)
        asked_text = text
        if focus_text != text:
            focus_tokens, focus = self._tokens_and_content(focus_text, language)
            # "Sus compañeros dicen que la ciudad va a ayudar en las deportaciones. Él no sabe
            # si creerles. ¿Qué dijo la ciudad sobre eso?", "Trump say he deport millions
            # people. LA city will cooperate with this or not?": what "eso" or "this" is, is
            # the last sentence before the question that names something.
            reads_what_was_said = _POINTS_AT_WHAT_WAS_SAID.search(fold(focus_text)) is not None
            if not self._says_what_it_asks(focus):
                # "¿Usted sabe qué dijeron?" asks about the sentence just before it, not the
                # whole story.
                before_text = question_part(text, reach_back=True)
                before_tokens, before = self._tokens_and_content(before_text, language)
                reads_what_was_said = not (before_text != text and self._says_what_it_asks(before))
                if not reads_what_was_said:
                    focus_text, focus_tokens, focus = before_text, before_tokens, before
            if reads_what_was_said:
                said = self._last_said_before(text, focus_text, language)
                if said is not None:
                    focus_text = f"{said} {focus_text}"
                    focus_tokens, focus = self._tokens_and_content(focus_text, language)
            claim = self._claim_checked(text, focus_text, focus, language)
            if (
                claim is not None
                and self._decisive(focus)
                and not self._decisive(
                    self._tokens_and_content(f"{claim} {focus_text}", language)[1]
                )
            ):
                # "Mi primo dice que la ley es nomás para los que tienen permiso de trabajo.
                # ¿La ley es también para nosotros o no?": the question is answered on its own,
                # and the claim's words would only blur it.
                claim = None
            question_tokens = _asked_tokens(questions_alone(focus_text))
            pointed_back = question_tokens != focus_tokens and self._says_what_it_asks(
                self._content_of(question_tokens, language)
            )
            if claim is not None:
                focus_text = f"{claim} {focus_text}"
                focus_tokens, focus = self._tokens_and_content(focus_text, language)
            if self._says_what_it_asks(focus):
                groups = self._reader.groups(focus_text)
                refers_back = "refers" in groups
                asked = self._reader.read(focus_text)
                # "He lives in Glendale; does it protect him?", "is it the same there?" ask
                # about the story's place; "my mother asks why they made it" does not.
                in_its_place = refers_back and (
                    bool(groups & _WHAT_BECOMES_OF_THEM)
                    or asked.personal
                    or not _PLACE_POINTERS.isdisjoint(focus_tokens)
                )
                reading = replace(
                    reading,
                    personal=asked.personal or (refers_back and reading.personal),
                    enforcement=asked.enforcement,
                    definition=asked.definition,
                )
                content = focus
                asked_text = focus_text
                # The claim a question checks, or the sentence it points back at, says what it
                # asks about, but its places and papers are the story's ("...like from
                # business license", "...the city rent help thing"); a fact the article does
                # not give still counts there ("It takes effect in January. Is that true?").
                scope_tokens = question_tokens
                story_tokens = (
                    raw_tokens if refers_back or claim is not None or pointed_back else []
                )
                if not in_its_place:
                    # "Mi cuñado vive en Lancaster y dice... ¿es lo que dicen los críticos?"
                    story_scope = self._story_agencies
                if pointed_back or claim is not None:
                    story_scope = story_scope | self._gap_terms
            else:
                # "That doesn't sound right, what was the actual reason?" asks about the
                # story: the whole message is read, but only a place or an agency of the story
                # puts it out of scope, not its Sunday or its school.
                scope_tokens = focus_tokens
                story_tokens = raw_tokens
        elif self._questions_point_back(text, language):
            # Every sentence is read, the story's for the question that points back at it
            # ("...hand her address to ICE. Does the law stop the city from sharing info like
            # that?"): the question's topics count, and of the story's only its places, its
            # agencies and a fact the article does not give ("It takes effect in January").
            scope_tokens = _asked_tokens(questions_alone(text))
            story_tokens = raw_tokens
            story_scope = self._story_scope | self._gap_terms
        query = _Query(reading, content, text)

        if is_other_language(text, self._english_words):
            # Neither English nor Spanish: say which languages the assistant reads.
            return self._result(query, language, "fallback", None, 0.0, (), None, "other-language")

        if reading.urgent:
            # A crisis gets the firm's phone first, never an entry.
            return self._result(query, language, "fallback", None, 0.0, (), intent, "urgent")
        if reading.medical:
            return self._result(query, language, "fallback", None, 0.0, (), intent, "medical")
        if reading.distress and not reading.book and set(query.content) <= self._distress_words:
            # "Help", "tengo miedo": a kind word, the phone and the urgent callback.
            return self._result(query, language, "fallback", None, 0.0, (), intent, "distress")
        if not query.content or (reading.social and set(query.content) <= {"you"}):
            # "hi, how are you?", "thank you!": nothing is asked about.
            return self._result(query, language, "fallback", None, 0.0, (), intent, "no-content")

        scored = self._score(query.content)
        if (
            scored
            and scored[0][0] in self._assistant_entries
            and _NAMES_THE_CITY.intersection(whole_content)
            and _NAMES_THE_ASSISTANT.isdisjoint(whole_content)
        ):
            # "La ciudad tiene mis datos de la biblioteca. ¿Eso lo comparten con los
            # federales?" asks what the city shares, not what this chat keeps.
            scored = [pair for pair in scored if pair[0] not in self._assistant_entries]
        if reading.personal and self._asks_whom_besides_me(asked_text, language):
            # "This law protect me also, or only people with green card?" asks whom the law
            # covers, which the article states: answered, with the line about one's own case.
            reading = replace(reading, personal=False, framing=True)
            query = _Query(reading, content, text)
        if reading.personal and not (
            scored
            and scored[0][0] in self._meta_entries
            and self._asks_about_entry(query.content, scored[0][0])
        ):
            # No article says what will happen to one person: show what it does say.
            return self._not_answered(query, language, scored, intent, "personal")
        # "Kindly book me a consultation. Name: ... Phone 310-555-0148": a booking that gives
        # the person's own phone, not a question for the firm's.
        gives_contact = reading.book and strip_contacts(text) != text
        channel = (
            self._firm_channel(asked_text, language, scored)
            if reading.channel and not gives_contact
            else None
        )
        if channel is not None:
            # "What is your email?" asks for the firm's email, which its contact entry gives.
            # "Is there an email I can write to, to set up a consultation?" and "quiero agendar,
            # ¿cuál es su teléfono?" ask the way to a booking too: the firm's ways in, then the
            # booking here, which is one more of them.
            entry_id = self._entry_ids[channel[0]]
            if reading.book:
                return self._result(
                    query, language, "answer", entry_id, channel[1], (), BOOK, "the-way"
                )
            return self._result(
                query, language, "answer", entry_id, channel[1], (), None, "channel"
            )
        # Of a story the question points back at, the places and agencies count ("he lives
        # in Glendale; does it protect him?", "my landlord...; does the law stop him?"), not
        # the days or papers of the story.
        if CITY_WORD in content and _POINTS_AT_THEM.isdisjoint(raw_tokens):
            # "My cousin in Texas keeps asking me if Los Angeles is a sanctuary city": where
            # the one who asks lives, when the question is about Los Angeles, not about them
            # ("my cousin in Texas, is she protected by the LA law?").
            scope_tokens = self._without_whereabouts(scope_tokens)
        uncovered = _longest(
            self._scope.find(scope_tokens)
            + [
                term
                for term in self._scope.find(_without_origins(story_tokens))
                if term in story_scope
            ]
        )
        by_status = bool(uncovered) and self._asks_whom_it_covers(asked_text, uncovered)
        if by_status:
            # "Is it only for green card holders, or for people with no papers too?" asks
            # whom the law covers; the statuses say who is asked about.
            uncovered = []
        if (
            intent == BOOK
            and not self._money.isdisjoint(uncovered)
            and not self._books_besides_cost(text)
        ):
            # "How much is a consultation?" asks what one costs, which an entry answers
            # (call or write to ask), not for a booking to start; "how much is it, and can I
            # book one?" asks for both, and the booking comes first.
            intent = None
        if uncovered:
            covering = [
                (index, score)
                for index, score in scored
                if all(self._mentions(index, term) for term in uncovered)
            ]
            if (
                not covering
                and _NAMES_THE_ASSISTANT.intersection(query.content)
                and scored
                and scored[0][0] in self._assistant_entries
            ):
                # "Can this bot help me with employer stuff or just the sanctuary law?", "si
                # escribo aquí que tengo DACA, ¿se queda guardado?" ask about the assistant,
                # which its own entries answer, whatever else they name.
                covering = scored[:1]
            if not covering:
                if intent is None and any(term in self._gap_by_term for term in uncovered):
                    # "When does the ordinance take effect?": the article does not say, and
                    # its entries nearest to the question are offered.
                    return self._not_answered(query, language, scored, intent, "not-covered")
                return self._result(
                    query, language, "fallback", None, 0.0, (), intent, "not-covered"
                )
            scored = covering
        if intent == BOOK and reading.the_way and self._ways_in_entry is not None:
            # "How do I make an appointment?" asks the way: the firm's ways in answer it, and
            # the booking starts after them.
            return self._result(
                query, language, "answer", self._ways_in_entry, 100.0, (), intent, "the-way"
            )
        if intent == BOOK and self._book_entry is not None:
            return self._result(
                query, language, "answer", self._book_entry, 100.0, (), intent, "intent"
            )

        if not scored or scored[0][1] < self.thresholds.suggest:
            best = scored[0][1] if scored else 0.0
            return self._result(query, language, "fallback", None, best, (), intent, "low-score")
        best_index, best_score = scored[0]
        asks_beyond = reading.enforcement or reading.definition
        # "If I call the city for help, ...": the scene a person sets is not what is asked.
        scene = set(self._words_of(own_conditions(asked_text), language))
        # "En la junta del distrito alguien dijo que...": who said it, and where, is the scene.
        scene |= self._words_of(reported_speakers(asked_text), language)
        # A sentence read with the question it leads to ("I own two taquerias... 15 employees.
        # With all the talk about mass deportations, will the city cooperate with that?") gives
        # its subject, not something the answer must state, unless the question asks nothing
        # of its own ("The law takes effect in January. Is that true?").
        own = set(self._tokens_and_content(questions_alone(asked_text), language)[1])
        if own & set(query.content) - self._context:
            scene |= set(query.content) - own
        asked_words = [word for word in query.content if word not in scene]
        if not (asks_beyond or reading.personal) and self._unstated(asked_words, best_index):
            # "En resumen, ¿qué cambia con esta ley para la gente sin papeles?": the best
            # score (whom it protects) does not state what changes; the next one does. Then
            # only the entries that state what is asked compete for the answer (`scored` is
            # best first, so the first of them is the runner-up that states it).
            stating = [pair for pair in scored if not self._unstated(asked_words, pair[0])]
            # "¿Qué es la SB 54 y qué le prohíbe a la policía?": two questions, the first the
            # best entry's; the second's entry is offered beside its answer, not instead.
            two_questions = self._answered_in_part(asked_text, language, scored) is not None
            if (
                not two_questions
                and stating
                and stating[0] in scored[1:MAX_SUGGESTIONS]
                and stating[0][1] >= self.thresholds.answer
            ):
                (best_index, best_score), scored = stating[0], stating
        if asks_beyond or self._unstated(asked_words, best_index):
            others = None if asks_beyond else self._answered_in_part(asked_text, language, scored)
            if others is None:
                return self._not_answered(query, language, scored, intent, "not-stated")
            # Two questions, one of them answered by the best entry: answer it, and show
            # the entries closest to the other, which the answer does not state.
            entry_id = self._entry_ids[best_index]
            return self._result(
                query, language, "answer", entry_id, best_score, others, intent, "in-part"
            )

        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if (
            best_score >= self.thresholds.answer
            and best_score - runner_up >= self.thresholds.margin
            and (best_score >= self.thresholds.sure or self._is_specific(query.content))
            # "Can I bring my wife from Mexico?" shares only whom it is about ("family") with
            # the entry on what the law means for families: that is not what it asks.
            and self._names_more_than_whom(query.content, best_index)
        ):
            entry_id = self._entry_ids[best_index]
            entry_intent: Intent | None = (
                BOOK if self._knowledge.entries[entry_id].intent else intent
            )
            if (
                reading.own_framing
                and best_score < self.thresholds.sure
                and not by_status
                and _COVERS not in query.content
            ):
                # "What does it change for someone like me?" asks about one person's life;
                # "is the law for people like me?" asks whom it covers, which is stated, and
                # "can people like her feel safer now?" what the article says of them all.
                return self._not_answered(query, language, scored, intent, "personal")
            # "Are undocumented people like me protected?" asks what the article states for
            # everyone: answered, with one line that no one's own case is assessed.
            reason = "framed" if reading.framing or by_status else "matched"
            return self._result(
                query, language, "answer", entry_id, best_score, (), entry_intent, reason
            )
        reason = "ambiguous" if best_score >= self.thresholds.answer else "unsure"
        return self._not_answered(query, language, scored, intent, reason)

    def _last_said_before(self, text: str, focus_text: str, language: Language) -> str | None:
        """Return the last sentence before the question that names what it is about."""
        told = sentences(text)
        first_question = next((s for s in told if s in focus_text), None)
        if first_question is None:
            return None
        for sentence in reversed(told[: told.index(first_question)]):
            if self._says_what_it_asks(self._tokens_and_content(sentence, language)[1]):
                return sentence
        return None

    def _questions_point_back(self, text: str, language: Language) -> bool:
        """Whether `text` tells a story and asks, in sentences of their own that name what
        they ask, about it."""
        questions = questions_alone(text)
        return questions != text and self._says_what_it_asks(
            self._tokens_and_content(questions, language)[1]
        )

    def _without_whereabouts(self, tokens: Sequence[str]) -> list[str]:
        """Drop the place said right after a relative ("mi primo en Arizona")."""
        return _without_places_after(
            tokens,
            lambda index: (
                tokens[index] in self._relatives
                and index + 1 < len(tokens)
                and tokens[index + 1] in _WHEREABOUTS
            ),
            # The "in" and the place itself.
            _ORIGIN_SPAN + 1,
        )

    def _claim_checked(
        self, text: str, focus_text: str, focus: Sequence[str], language: Language
    ) -> str | None:
        """Return the story's sentence that a short question repeats to check it, if any.

        "Mi tío dice que la ciudad va a ayudar a la migra en las deportaciones. Yo le dije
        que no. ¿La ciudad va a ayudar o no?": the question repeats the claim, which says
        whom the city would help.
        """
        asked = set(focus)
        if not asked or _ASKS_FOR_CONTENT.intersection(fold(focus_text).split()[:2]):
            # "¿Qué es lo que dicen los que están en contra?" asks what the article says, not
            # whether the story's claim is true.
            return None
        before = sentences(text)
        before = before[: before.index(focus_text)] if focus_text in before else []
        for sentence in reversed(before):
            claimed = set(self._tokens_and_content(sentence, language)[1])
            if asked < claimed:
                return sentence
        return None

    def _not_answered(
        self,
        query: _Query,
        language: Language,
        scored: Sequence[tuple[int, float]],
        intent: Intent | None,
        reason: str,
    ) -> MatchResult:
        """Offer the closest entries as suggestions, or fall back when none is close."""
        suggestions = tuple(
            Suggestion(
                self._entry_ids[index],
                self._knowledge.entries[self._entry_ids[index]].text(language).question,
                score,
            )
            for index, score in scored[:MAX_SUGGESTIONS]
            if score >= self.thresholds.suggest
        )
        best = scored[0][1] if scored else 0.0
        if not suggestions:
            return self._result(query, language, "fallback", None, best, (), intent, reason)
        first = suggestions[0].entry_id
        return self._result(query, language, "suggest", first, best, suggestions, intent, reason)

    def _unstated(self, content: Sequence[str], entry_index: int) -> bool:
        """Whether the question asks about something the entry never states.

        Only words the FAQ knows count ("take effect", "vote", "sign" through synonyms, or
        words of other entries): a word nobody wrote down is more often a typo or a story
        than the point of the question, and it already lowers the score.
        """
        stated = self._stated[entry_index]
        # "¿Es verdad que la aprobaron en 2017?": an entry that gives a year corrects another.
        gives_a_year = any(_YEAR.fullmatch(word) for word in stated)
        return any(
            word in self._concepts
            and word not in stated
            and word not in self._context
            and word not in _NEVER_UNSTATED
            and not (gives_a_year and _YEAR.fullmatch(word))
            for word in content
        )

    def _firm_channel(
        self, text: str, language: Language, scored: Sequence[tuple[int, float]]
    ) -> tuple[int, float] | None:
        """Return the firm's entry (and score) that gives the email, website or phone asked for.

        Only the clauses that name a channel count ("my English is not good, what number can I
        call?"), and in them nothing but the channel and a wish to book may be asked.
        """
        asked = self._reader.clauses_with(text, "channel")
        content = self._content(self._canonical(self._correct(fold(asked).split()), language))
        if "call_me" in self._reader.groups(text) and "where" not in content:
            # "Can you call me by phone tomorrow?" asks to be called: a booking; "where on
            # your page do I leave my number so you call me?" asks where the form is.
            return None
        channels = [word for word in content if word in self._channel_words]
        if not channels:
            return None
        uncovered = self._scope.find(fold(strip_contacts(asked)).split())
        # The channel asked for decides, not how the rest of the message scores: "is there a
        # form somewhere?" after "how do I schedule a consultation online". The entry of the
        # firm's ways in is tried first.
        ways_in = self._entry_ids.index(self._ways_in_entry) if self._ways_in_entry else None
        for index, score in sorted(scored, key=lambda pair: pair[0] != ways_in):
            if index not in self._meta_entries or self._entry_ids[index] == self._book_entry:
                continue
            stated = self._stated[index]
            beyond = [
                word
                for word in content
                if word in self._concepts
                and word not in stated
                and word not in self._context
                and word not in self._booking_words
                and word not in _NEVER_UNSTATED
            ]
            # "How to apply for citizenship online" asks about something else online.
            elsewhere = [term for term in uncovered if not self._mentions(index, term)]
            if all(word in stated for word in channels) and not beyond and not elsewhere:
                return index, score
        return None

    def _answered_in_part(
        self, text: str, language: Language, scored: Sequence[tuple[int, float]]
    ) -> tuple[Suggestion, ...] | None:
        """Return the entries closest to a second question that the best entry does not answer.

        "What prompted the law, and when was it passed?": the best entry states what prompted
        it; "when" is another entry's. None unless some question of the message is the best
        entry's alone and another asks what it does not state.
        """
        best_index = scored[0][0]
        answered = False
        others: dict[int, float] = {}
        for part in sub_questions(text):
            content = self._content(
                self._canonical(self._correct(fold(strip_contacts(part)).split()), language)
            )
            if not any(word in self._idf for word in content):
                continue
            if not self._unstated(content, best_index):
                part_scored = self._score(content)
                answered = answered or bool(part_scored and part_scored[0][0] == best_index)
                continue
            for index, score in self._score(content)[:MAX_SUGGESTIONS]:
                if index != best_index and score >= self.thresholds.suggest:
                    others[index] = max(others.get(index, 0.0), score)
        if not answered or not others:
            return None
        ranked = sorted(others.items(), key=lambda pair: pair[1], reverse=True)
        return tuple(
            Suggestion(
                self._entry_ids[index],
                self._knowledge.entries[self._entry_ids[index]].text(language).question,
                score,
            )
            for index, score in ranked[:MAX_SUGGESTIONS]
        )

    def _group_words(self, knowledge: Knowledge, *groups: str) -> set[str]:
        return {
            word
            for group in groups
            for phrase in knowledge.intents.phrases(group)
            for language in LANGUAGES
            for word in self._words_of(phrase, language)
        }

    def _asks_whom_it_covers(self, asked_text: str, uncovered: Sequence[str]) -> bool:
        """Whether the law (or "it") is asked whom it covers, the statuses naming who.

        "Does this protect people whose visa expired?" does; "does a U visa protect my
        wife?" asks what a visa does, which no entry states.
        """
        groups = self._reader.groups(asked_text)
        if not (set(uncovered) <= self._statuses and "covers" in groups):
            return False
        tokens = fold(asked_text).split()
        names_the_law = "city" in groups or not _THE_LAW_AS_PRONOUN.isdisjoint(tokens)
        return names_the_law or _names_people_by_status(tokens, uncovered)

    def _asks_whom_besides_me(self, asked_text: str, language: Language) -> bool:
        """Whether a question about the writer sets them beside others the law may cover
        ("does it protect me too, or only green card holders?", "sin papeles también me
        protege esa ley?")."""
        if "covers" not in self._reader.groups(asked_text):
            return False
        folded = fold(asked_text)
        if _ONLY_OTHERS.search(folded) is not None:
            return True
        tokens = folded.split()
        names_a_status = not self._statuses.isdisjoint(self._scope.find(tokens)) or (
            _UNDOCUMENTED in self._words_of(asked_text, language)
        )
        return names_a_status and not _TOO.isdisjoint(tokens)

    def _mentions(self, entry_index: int, term: str) -> bool:
        return set(term.split()) <= self._entry_raw_words[entry_index]

    def _result(
        self,
        query: _Query,
        language: Language,
        outcome: Outcome,
        entry_id: str | None,
        score: float,
        suggestions: tuple[Suggestion, ...],
        intent: Intent | None,
        reason: str,
    ) -> MatchResult:
        return MatchResult(
            question=query.text,
            language=language,
            outcome=outcome,
            entry_id=entry_id,
            score=score,
            suggestions=suggestions,
            intent=intent,
            reason=reason,
            urgent=query.reading.urgent,
            medical=query.reading.medical,
        )

    def _canonical(self, tokens: Sequence[str], language: Language) -> list[str]:
        """Map synonyms; in English, a lower-case "la" left over is the city, not an article."""
        mapped = self._synonyms.apply(
            _without_times_given(_without_reasons_given(_without_relative_who(tokens)))
        )
        if language == "en":
            return [CITY_WORD if word == "la" else word for word in mapped]
        return mapped

    def _tokens_and_content(self, text: str, language: Language) -> tuple[list[str], list[str]]:
        """Return the folded tokens of `text`, contacts left out, and its content words."""
        tokens = _asked_tokens(text)
        return tokens, self._content_of(tokens, language)

    def _content_of(self, tokens: Sequence[str], language: Language) -> list[str]:
        return self._content(self._canonical(self._correct(tokens), language))

    def _words_of(self, text: str, language: Language) -> set[str]:
        return set(self._content(self._canonical(fold(text).split(), language)))

    def _content(self, tokens: Iterable[str]) -> list[str]:
        """Return the distinct meaningful words of `tokens`, stemmed, in order."""
        seen: dict[str, None] = {}
        for token in tokens:
            if token in self._canonical_words:
                seen.setdefault(token)
                continue
            if token not in STOPWORDS:
                seen.setdefault(stem(token))
        return list(seen)

    def _correct(self, tokens: Sequence[str]) -> list[str]:
        corrected: list[str] = []
        for token in tokens:
            if (
                len(token) >= _MIN_CORRECTABLE
                and token.endswith("s")
                and token not in self._known_words
                and token[:-1] in self._known_words
            ):
                # "citys", "lawyers": a plural or a possessive without its apostrophe.
                corrected.append(token[:-1])
                continue
            if (
                len(token) < _MIN_CORRECTABLE
                or token in self._known_words
                or token in self._scope_words
                or not token.isalpha()
            ):
                corrected.append(token)
                continue
            found = process.extractOne(
                token,
                self._correctable,
                scorer=OSA.distance,
                score_cutoff=2 if len(token) >= _LONG_WORD else 1,
            )
            corrected.append(found[0] if found is not None else token)
        return corrected

    def _asks_about_entry(self, content: Sequence[str], entry_index: int) -> bool:
        """Whether a question names something the entry states beyond a person's outcome.

        "Is it safe for me to write here?" asks about this chat; "am I safe?" only asks
        about the person, which the data-privacy entry does not answer.
        """
        stated = self._stated[entry_index]
        return any(
            word in stated
            and word in self._idf
            and (
                # "If I tell you I have no papers, will you tell ICE?" asks about this chat.
                word in _NAMES_THE_ASSISTANT
                or word == "you"
                or (word not in self._outcome_words and word not in _WHO_AND_WHO_WOULD_TAKE)
            )
            for word in content
        )

    def _names_more_than_whom(self, content: Sequence[str], entry_index: int) -> bool:
        """Whether a question shares with the entry a word beyond whom it is about."""
        stated = self._stated[entry_index]
        return any(
            word in stated and word in self._idf and word not in self._whom for word in content
        )

    def _decisive(self, content: Sequence[str]) -> bool:
        """Whether `content` alone scores one entry high enough, and far enough ahead, to be
        answered."""
        scored = self._score(content)
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        return bool(scored) and (
            scored[0][1] >= self.thresholds.answer
            and scored[0][1] - runner_up >= self.thresholds.margin
        )

    def _says_what_it_asks(self, content: Sequence[str]) -> bool:
        """Whether a question sentence names enough to be read without the rest of the message.

        "¿Es cierto eso?" after a rumour asks about the sentence before it; "Who approved it,
        and when?" names what it asks, and so does "what did the critics say about it?" with
        one word found in few entries.
        """
        known = [word for word in content if word in self._idf]
        # A question word alone ("which day?") says how it asks, not what about.
        topics = [word for word in known if word not in QUESTION_WORDS]
        return len(known) >= _FOCUS_KNOWN_WORDS or (bool(topics) and self._is_specific(topics))

    def _is_specific(self, content: Sequence[str]) -> bool:
        """Whether a question narrows the FAQ down enough to be answered without being sure.

        A single common word ("ICE", "law") is asked about in several entries; two known
        words together, or one found in few entries ("SB 54"), say what is asked.
        """
        known = [word for word in content if word in self._idf]
        if len(known) > 1:
            return True
        return sum(self._idf[word] for word in known) >= self._min_specificity

    def _weight(self, word: str, unknown_weight: float) -> float:
        if word in self._idf:
            return self._idf[word]
        # One- and two-letter leftovers ("iz", "q", "u") and bare numbers ("10 years") are
        # noise, not a topic.
        if len(word) <= _NOISE_LENGTH or word.isdigit():
            return 0.0
        return unknown_weight

    def _score(self, content: Sequence[str]) -> list[tuple[int, float]]:
        """Return (entry index, score) pairs, best first, for entries sharing a word."""
        # A question is about one or two things: the more unknown words a long message has,
        # the likelier they are its story ("I came here ten years ago...") rather than its
        # topic, so together they weigh as much as a few, not each as much as one.
        unknown = sum(1 for word in content if word not in self._idf)
        unknown_weight = self._unknown_weight / math.sqrt(max(unknown, 1))
        weights = {word: self._weight(word, unknown_weight) for word in content}
        total = sum(weights.values())
        if total == 0:
            return []
        explained: dict[int, float] = defaultdict(float)
        for word, weight in weights.items():
            for index in self._entries_by_word.get(word, ()):
                explained[index] += weight
        if not explained:
            return []
        shortlist = set(
            sorted(explained, key=explained.__getitem__, reverse=True)[:_PREFILTER_ENTRIES]
        )

        # Only phrasings sharing a word with the question can score above the wording weight
        # alone, which is under every threshold; the others are never looked at.
        shared: dict[int, float] = defaultdict(float)
        for word, weight in weights.items():
            for choice_id in self._choices_by_word.get(word, ()):
                shared[choice_id] += weight

        # Meaning: the question must hold what a phrasing asks (precision) and ask nothing
        # the entry does not talk about (recall over all its phrasings); the harmonic mean
        # needs both, so "Is Chicago a sanctuary city?" scores low on recall however well
        # "sanctuary city" matches.
        meanings: list[tuple[float, _Choice]] = []
        for choice_id, shared_weight in shared.items():
            choice = self._choices[choice_id]
            if choice.entry in shortlist:
                precision = shared_weight / choice.total
                overlap = _harmonic_mean(precision, explained[choice.entry] / total)
                meanings.append((100.0 * (1 - _FUZZY_WEIGHT) * overlap, choice))
        # Best meaning first: once an entry has a score that the wording weight cannot beat,
        # its remaining phrasings are skipped without a fuzzy comparison.
        meanings.sort(key=lambda pair: pair[0], reverse=True)
        query_text = " ".join(content)
        best: dict[int, float] = {}
        for meaning, choice in meanings:
            if meaning + 100.0 * _FUZZY_WEIGHT <= best.get(choice.entry, 0.0):
                continue
            # Wording: token_sort_ratio compares whole texts regardless of word order,
            # rewarding the phrasing that says the same thing and forgiving typos the
            # correction missed; token_set_ratio would score any phrasing contained in
            # the question 100 and so cannot tell a long question from a near miss.
            wording = _FUZZY_WEIGHT * fuzz.token_sort_ratio(query_text, choice.text)
            best[choice.entry] = max(best.get(choice.entry, 0.0), meaning + wording)
        results = list(best.items())
        results.sort(key=lambda pair: pair[1], reverse=True)
        return results


# "Immigrants who have no papers": after a noun, "who" starts a description, not a question
# about who; "hey so who passed it?" and "and who didn't?" still ask who.
_RELATIVE = frozenset({"who", "whom"})


def _without_relative_who(tokens: Sequence[str]) -> list[str]:
    return [
        token
        for index, token in enumerate(tokens)
        if not (token in _RELATIVE and index > 0 and tokens[index - 1] not in STOPWORDS)
    ]


# "Tiene miedo porque cree que...", "LA isn't a sanctuary anymore bc of trump": a reason given,
# not a question why. "¿Es porque...?", "me pregunta porque la sacaron", "and because of
# what?" still ask it.
_REASON_WORDS = frozenset({"porque", "because"})
_ASKING_WHY_AFTER = frozenset(
    {
        "y",
        "e",
        "o",
        "pero",
        "entonces",
        "pues",
        "que",
        "es",
        "fue",
        "pregunta",
        "preguntan",
        "pregunto",
        "preguntaba",
        "saber",
        "sabe",
        "se",
        "sabes",
        "explica",
        "explicar",
        "explicame",
        "dime",
        "digame",
        "entiendo",
        "and",
        "but",
        "so",
        "or",
        "is",
        "it",
        "was",
        "its",
        "ask",
        "asks",
        "asked",
        "asking",
        "know",
        "wondering",
        "explain",
    }
)


def _without_reasons_given(tokens: Sequence[str]) -> list[str]:
    return _without_given(tokens, _REASON_WORDS, _ASKING_WHY_AFTER)


def _without_given(
    tokens: Sequence[str],
    words: frozenset[str],
    asking_after: frozenset[str],
    *,
    last_asks: bool = False,
) -> list[str]:
    """Drop `words` said inside a statement; keep them where they ask: first in the message,
    after one of `asking_after`, or last, with `last_asks`."""
    last = len(tokens) - 1
    return [
        token
        for index, token in enumerate(tokens)
        if not (
            token in words
            and index > 0
            and not (last_asks and index == last)
            and tokens[index - 1] not in asking_after
        )
    ]


# "Will the city cooperate when the big deportations start?", "¿me ayuda cuando llegue?": a
# time given, not a question when. "When did they pass it?", "¿sabes cuándo la aprobaron?",
# "and when?" still ask it.
_TIME_WORDS = frozenset({"when", "cuando"})
_ASKING_WHEN_AFTER = _ASKING_WHY_AFTER | {"since", "desde", "tell", "me", "sabias", "about"}


def _without_times_given(tokens: Sequence[str]) -> list[str]:
    return _without_given(tokens, _TIME_WORDS, _ASKING_WHEN_AFTER, last_asks=True)


# "Can you help me with this?", "¿me ayuda con eso?", "help me understand": a request to the
# assistant about what was said, not a question about help ("can the police help ICE?", "¿nos
# ayuda la ley?", "what can you help me with?").
_HELP_WORDS = frozenset(
    {"help", "ayuda", "ayudas", "ayudan", "ayudar", "ayude", "ayuden", "ayudame", "ayudeme"}
)
_HELPED_WITH = (
    ("con", "eso"),
    ("con", "esto"),
    ("a", "entender"),
    ("entender",),
    ("me", "with", "this"),
    ("me", "with", "that"),
    ("me", "with", "it"),
    ("me", "understand"),
    ("us", "understand"),
    ("me", "figure"),
)


def _asked_tokens(text: str) -> list[str]:
    """The folded words of a question, without the contacts it gives (which say nothing of
    what it asks) or a request to the assistant for help."""
    return _without_manner(_without_requests_for_help(fold(strip_contacts(text)).split()))


# How a question asks to be answered ("in plain language", "en palabras sencillas"), whom it
# hails ("oe causa": Peru, "hey, friend"), or how sure the one asking is ("no estoy seguro",
# "¿quién tiene la razón?" of two claims), not what it asks.
_MANNER = tuple(
    tuple(phrase.split())
    for phrase in (
        "in plain language",
        "in plain english",
        "in simple english",
        "simple english",
        "in simple terms",
        "my matter",
        "plain language",
        "in simple words",
        "in easy words",
        "easy words",
        "easy word",
        "en palabras sencillas",
        "con palabras sencillas",
        "en palabras faciles",
        "oe causa",
        "no estoy seguro",
        "no estoy segura",
        "no estamos seguros",
        "im not sure",
        "i am not sure",
        "quien tiene la razon",
        "quien tiene razon",
        "who is right",
    )
)


def _without_manner(tokens: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(tokens):
        phrase = next((p for p in _MANNER if tuple(tokens[index : index + len(p)]) == p), None)
        if phrase is None:
            kept.append(tokens[index])
            index += 1
        else:
            index += len(phrase)
    return kept


def _without_requests_for_help(tokens: Sequence[str]) -> list[str]:
    return [
        token
        for index, token in enumerate(tokens)
        if not (
            token in _HELP_WORDS
            and any(
                tuple(tokens[index + 1 : index + 1 + len(then)]) == then for then in _HELPED_WITH
            )
        )
    ]


# "She just moved here from Dallas", "es de Guatemala": where someone comes from is not where
# the question asks about.
_ORIGIN_VERBS = frozenset(
    {"soy", "es", "son", "somos", "vino", "vine", "viene", "vienen", "llego", "llegue", "llegaron"}
)
_ORIGIN_SPAN = 2
_WHEREABOUTS = frozenset({"in", "en"})
# "Me protege también a mí, sin papeles?": the writer among others the law covers.
_TOO = frozenset({"too", "also", "tambien", "tanbien"})
# The canonical word of synonyms.yaml for "sin papeles", "indocumentado", "no papers".
_UNDOCUMENTED = "undocumented"
_ONLY_OTHERS = re.compile(r"\b(?:or|o)(?: es| is it| its)? (?:only|just|solo|nomas|nada mas)\b")
_POINTS_AT_THEM = frozenset({"he", "she", "him", "her", "hes", "shes", "ella", "ellos", "ellas"})
_FROM = frozenset({"from", "desde"})


def _without_origins(tokens: Sequence[str]) -> list[str]:
    return _without_places_after(
        tokens,
        lambda index: (
            tokens[index] in _FROM
            or (tokens[index] == "de" and index > 0 and tokens[index - 1] in _ORIGIN_VERBS)
        ),
        _ORIGIN_SPAN,
    )


def _without_places_after(
    tokens: Sequence[str], marks_a_place: Callable[[int], bool], span: int
) -> list[str]:
    """Drop the `span` words after each token that `marks_a_place` (by index)."""
    kept: list[str] = []
    skip = 0
    for index, word in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        kept.append(word)
        if marks_a_place(index):
            skip = span
    return kept


def _longest(terms: Sequence[str]) -> list[str]:
    """Drop the terms found inside a longer one: "asilo está pendiente" is a status, not the
    asylum process."""
    return [
        term
        for term in terms
        if not any(other != term and f" {term} " in f" {other} " for other in terms)
    ]


def _harmonic_mean(first: float, second: float) -> float:
    return 2 * first * second / (first + second) if first + second else 0.0
