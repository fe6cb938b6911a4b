"""How easy a text is to read: Flesch-Kincaid grade (English), Fernández-Huerta (Spanish).

Both formulas count words, sentences and syllables. Syllables are counted by rule, not from a
dictionary: in English by groups of vowels, less a silent final "e"; in Spanish by vowel
nuclei, where a weak vowel (i, u) next to another vowel makes one syllable with it unless it
carries an accent (dí-a, pa-ís). The counts are close enough to tell a grade 14 sentence from a
grade 6 one, which is what `faq eval` reports them for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.faq.knowledge import Language

# A word has at least one letter; phone numbers, emails and web addresses are not words.
_TOKEN = re.compile(r"\S+")
_LETTERS = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_CONTACT = re.compile(r"@|https?://|www\.|\d{3}")
# A sentence ends with a full stop, a question or exclamation mark followed by a space, or a
# line break; a colon or a semicolon does not end one.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")

_SHORT_WORD = 3
_ES_STRONG = frozenset("aeoáéíóú")
_ES_VOWELS = frozenset("aeiouáéíóúü")


@dataclass(frozen=True, slots=True)
class Readability:
    """The counts of a text and its score in the formula of its language."""

    words: int
    sentences: int
    syllables: int
    score: float

    @property
    def per_word(self) -> float:
        """Syllables per word."""
        return self.syllables / self.words if self.words else 0.0


def words_of(text: str) -> list[str]:
    """Return the words of `text`, without phone numbers, emails or addresses."""
    found: list[str] = []
    for token in _TOKEN.findall(text):
        if _CONTACT.search(token):
            continue
        found += _LETTERS.findall(token)
    return found


def sentence_count(text: str) -> int:
    """Return how many sentences `text` has (at least one when it has a word)."""
    pieces = [piece for piece in _SENTENCE_END.split(text) if words_of(piece)]
    return max(len(pieces), 1 if words_of(text) else 0)


def english_syllables(word: str) -> int:
    """Return the number of syllables of an English word, by rule."""
    word = re.sub(r"['\u2019](?:s|t|re|ll|ve|d)$", "", word.casefold())
    word = re.sub(r"[^a-z]", "", word)
    if len(word) <= _SHORT_WORD:
        return 1
    # A silent final "e" or "es" (make, uses), never in "-le" (people); "-ed" is said only
    # after t or d (changed, protected).
    word = re.sub(r"(?:[^laeiouy]es|[^laeiouy]e)$", "", word)
    word = re.sub(r"(?<=[^aeiouytd])ed$", "", word)
    word = re.sub(r"^y", "", word)
    return max(len(re.findall(r"[aeiouy]{1,2}", word)), 1)


def spanish_syllables(word: str) -> int:
    """Return the number of syllables of a Spanish word, by rule."""
    word = word.casefold()
    # "que", "qui", "gue", "gui": the u is not said; "y" at the end is a vowel (hoy, muy).
    word = re.sub(r"(?<=[qg])u(?=[eéií])", "", word)
    word = re.sub(r"y$", "i", word)
    word = re.sub(r"y(?=[^aeiouáéíóú]|$)", "i", word)
    count = 0
    previous = ""
    for letter in word:
        if letter not in _ES_VOWELS:
            previous = ""
            continue
        if not previous:
            count += 1
        elif letter in _ES_STRONG and previous in _ES_STRONG:
            count += 1  # hiatus: le-er, pa-ís, dí-a
        previous = letter
    return max(count, 1)


def readability(text: str, language: Language) -> Readability:
    """Return the counts of `text` and its score: a Flesch-Kincaid grade in English (lower is
    easier; 8 is plain), a Fernández-Huerta ease in Spanish (higher is easier; 70 is plain)."""
    words = words_of(text)
    sentences = sentence_count(text)
    if not words:
        return Readability(0, 0, 0, 0.0)
    syllable = english_syllables if language == "en" else spanish_syllables
    syllables = sum(syllable(word) for word in words)
    if language == "en":
        score = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    else:
        # As Fernández Huerta (1959) wrote it, corrected: 60 times the syllables per word and
        # 1.02 times the words per sentence (often misquoted with sentences per 100 words).
        score = 206.84 - 60 * syllables / len(words) - 1.02 * len(words) / sentences
    return Readability(len(words), sentences, syllables, round(score, 1))


def plain_enough(found: Readability, language: Language) -> bool:
    """Whether a score meets the plain-language goal: grade 8 or less, or an ease of 70."""
    if language == "en":
        return found.score <= ENGLISH_MAX_GRADE
    return found.score >= SPANISH_MIN_EASE


ENGLISH_MAX_GRADE = 8.0
SPANISH_MIN_EASE = 70.0
