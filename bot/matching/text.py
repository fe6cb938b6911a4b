"""Text normalization shared by the matcher, the language detector and the FAQ checks.

Everything the matcher compares goes through `fold` first, so that case, accents,
punctuation, emoji and spacing never decide a match.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process

# "LA" written in capitals is the city; lower-case "la" is far more often the Spanish article,
# so only the capitalised forms are read as Los Angeles.
_CITY_ABBREVIATION = re.compile(r"(?<![A-Za-z])L\.?A\.?(?![A-Za-z])")
# "what's" is "whats", not the possessive "what".
_CONTRACTION = re.compile(
    "\\b(what|that|it|who|where|there|here|he|she|how|when|why|let)['\u2019`]s\\b", re.IGNORECASE
)
_POSSESSIVE = re.compile("['\u2019`]s\\b")
_APOSTROPHE = re.compile("['\u2019`]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

CITY_WORD = "losangeles"
_SHOUTING_MIN_LETTERS = 8
# Chat shorthand, read as the word it stands for: "q" is "que", "x" is "por", "ppl" is
# "people". Only forms that mean nothing else are listed.
_SHORTHAND = {
    "q": "que",
    "k": "que",
    "ke": "que",
    "d": "de",
    "x": "por",
    "pa": "para",
    "pq": "porque",
    "xq": "porque",
    "tmb": "tambien",
    "tb": "tambien",
    "kiero": "quiero",
    "kien": "quien",
    "ppl": "people",
    "pls": "please",
    "plz": "please",
    "bc": "because",
    "cuz": "because",
    "wat": "what",
    "u": "you",
    "r": "are",
    "ur": "your",
    "wut": "what",
}


def fold(text: str) -> str:
    """Return `text` lower-cased, without accents, punctuation or emoji, spaces collapsed."""
    if ("LA" in text or "L.A" in text) and not _shouting(text):
        text = _CITY_ABBREVIATION.sub(f" {CITY_WORD} ", text)
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = without_marks.casefold()
    lowered = _CONTRACTION.sub(r"\1s", lowered)
    lowered = _POSSESSIVE.sub("", lowered)
    lowered = _APOSTROPHE.sub("", lowered)
    words = _NOT_WORD.sub(" ", lowered).split()
    return " ".join(_SHORTHAND.get(word, word) for word in words)


def _shouting(text: str) -> bool:
    """Whether a message is written in capitals, where "LA" may be the article ("LA MIGRA")."""
    upper = sum(1 for ch in text if ch.isupper())
    lower = sum(1 for ch in text if ch.islower())
    return upper > _SHOUTING_MIN_LETTERS and lower < upper / 4


def tokenize(text: str) -> list[str]:
    """Split `text` into folded words."""
    return fold(text).split()


class PhraseMap:
    """Replaces known phrases in a token list by a canonical word, longest phrase first."""

    def __init__(
        self,
        canonical_by_phrase: Mapping[str, str],
        *,
        word_forms: bool = False,
        exact_only: Iterable[str] = (),
    ) -> None:
        self._canonical: dict[tuple[str, ...], str] = {}
        for phrase, canonical in canonical_by_phrase.items():
            key = tuple(tokenize(phrase))
            if key:
                self._canonical[key] = canonical
        self._longest = max((len(key) for key in self._canonical), default=0)
        # With `word_forms`, a one-word phrase also matches its other forms ("criticizing"
        # for "criticism"), unless that stem belongs to two canonical words or is so short
        # that unrelated words share it ("pasarle" and "pasa" both give "pas").
        # Words that set how a sentence is put ("something called SB 54") match only as
        # written, never as another form of a known word ("call").
        self._exact_only = frozenset(exact_only)
        self._by_stem: dict[str, str] = {}
        if word_forms:
            claims: dict[str, set[str]] = {}
            for key, canonical in self._canonical.items():
                if len(key) == 1 and len(stem(key[0])) >= _MIN_FORM_STEM:
                    claims.setdefault(stem(key[0]), set()).add(canonical)
            self._by_stem = {
                word_stem: next(iter(owners))
                for word_stem, owners in claims.items()
                if len(owners) == 1
            }

    @classmethod
    def from_groups(
        cls,
        groups: Mapping[str, Iterable[str]],
        *,
        word_forms: bool = False,
        exact_only: Iterable[str] = (),
    ) -> PhraseMap:
        """Build from {canonical: [variant, ...]}; each canonical word also maps to itself."""
        mapping: dict[str, str] = {}
        for canonical, variants in groups.items():
            mapping[canonical] = canonical
            for variant in variants:
                mapping[variant] = canonical
        return cls(mapping, word_forms=word_forms, exact_only=exact_only)

    @property
    def words(self) -> set[str]:
        """Every single word that appears in a known phrase or canonical form."""
        found = {word for key in self._canonical for word in key}
        found.update(self._canonical.values())
        return found

    def apply(self, tokens: Sequence[str]) -> list[str]:
        """Return `tokens` with every known phrase replaced by its canonical word."""
        result: list[str] = []
        position = 0
        while position < len(tokens):
            for size in range(min(self._longest, len(tokens) - position), 0, -1):
                canonical = self._canonical.get(tuple(tokens[position : position + size]))
                if canonical is not None:
                    result.append(canonical)
                    position += size
                    break
            else:
                token = tokens[position]
                if self._by_stem and token not in self._exact_only:
                    token = self._by_stem.get(stem(token), token)
                result.append(token)
                position += 1
        return result

    def find(self, tokens: Sequence[str]) -> list[str]:
        """Return the canonical words of the known phrases that occur in `tokens`."""
        found: list[str] = []
        for size in range(1, self._longest + 1):
            for position in range(len(tokens) - size + 1):
                canonical = self._canonical.get(tuple(tokens[position : position + size]))
                if canonical is not None:
                    found.append(canonical)
        return found


_ENGLISH_STEMMER = snowballstemmer.stemmer("english")
_SPANISH_STEMMER = snowballstemmer.stemmer("spanish")
_MIN_STEMMED_LENGTH = 4
_MIN_FORM_STEM = 4


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the stem of a folded word, the same whichever of our languages it is in.

    Messages mix languages, so a word is stemmed as English and then as Spanish: applied
    alike to questions and phrasings, this maps "deported", "deportations" and "deportan" to
    one stem without first having to decide which language each word is in.
    """
    if len(word) < _MIN_STEMMED_LENGTH or not word.isalpha():
        return word
    english: str = _ENGLISH_STEMMER.stemWord(word)
    spanish: str = _SPANISH_STEMMER.stemWord(english)
    return spanish


def _sound(text: str) -> str:
    """Spell `text` as it sounds in Spanish: "me pueden yamar" is "me pueden llamar", "vuscar"
    is "buscar" (ll and y, v and b sound the same, and people who learnt Spanish by ear write
    either)."""
    return text.replace("ll", "y").replace("v", "b")


class PhraseDetector:
    """Tells whether a message contains one of a list of phrases, tolerating small typos.

    Phrases match whole words, after folding; phrases of at least `fuzzy_min_length`
    characters also match with a typo or two (rapidfuzz partial_ratio >= `fuzzy_cutoff`).
    """

    def __init__(
        self, phrases: Iterable[str], *, fuzzy_min_length: int = 12, fuzzy_cutoff: float = 92.0
    ) -> None:
        folded = sorted({fold(phrase) for phrase in phrases} - {""})
        self._exact = PhraseMap({phrase: phrase for phrase in folded})
        self._by_sound = PhraseMap({_sound(phrase): phrase for phrase in folded})
        self._fuzzy = sorted(
            (phrase for phrase in folded if len(phrase) >= fuzzy_min_length), key=len
        )
        self._cutoff = fuzzy_cutoff

    @property
    def words(self) -> set[str]:
        """Every word of every phrase."""
        return self._exact.words

    def found(self, tokens: Sequence[str]) -> bool:
        """Return whether the folded `tokens` contain one of the phrases."""
        if self._exact.find(tokens) or self._by_sound.find([_sound(token) for token in tokens]):
            return True
        text = " ".join(tokens)
        # A phrase longer than the message cannot be in it, typos or not.
        fitting = bisect.bisect_right(self._fuzzy, len(text) + 2, key=len)
        candidates = self._fuzzy[:fitting]
        found = process.extractOne(
            text, candidates, scorer=fuzz.partial_ratio, score_cutoff=self._cutoff
        )
        return found is not None
