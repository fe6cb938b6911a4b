"""The FAQ as data: pydantic models of the YAML files under `FAQ_DIR`, and `Knowledge`.

The files are read by `bot.faq.loader`, which reports every problem with its file and line; this
module only says what valid content looks like and how answers and texts are put together.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.faq.located import Located

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")

# Telegram refuses messages longer than this many characters.
TELEGRAM_MESSAGE_LIMIT = 4096
# An answer as the person reads it (answer, what the article does not say, the phone, the
# source line, and the article's limits the first time): a phone screen or two at most.
MAX_ANSWER_READ = 700
# A button label a phone shows on one line.
MAX_BUTTON_LABEL = 32
# Entries that rest on no article: about this assistant, or the firm's own contact details.
ASSISTANT_SOURCE = "assistant"
FIRM_SOURCE = "firm"
OWN_SOURCES = frozenset({ASSISTANT_SOURCE, FIRM_SOURCE})
MIN_PHRASINGS = 10
FIRM_PLACEHOLDERS = frozenset({"phone", "email", "website_section", "firm_name", "sharing"})
BOOK: Literal["book"] = "book"

# The values the code fills into each text of texts/*.yaml, besides the firm's details. A text
# may use only these placeholders (`faq check` reports any other, with its line), and the code
# must pass exactly these (`Knowledge.text` refuses anything else), so a typo such as
# `{nombre}` is caught when the FAQ is checked, never in the middle of a booking.
TEXT_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    key: frozenset(names.split())
    for key, names in {
        "source_line": "cited_as",
        "details_source": "source cited_as",
        "topic_header": "topic",
        "consent_request": "retention_days",
        "urgent_consent_request": "retention_days",
        "privacy": "retention_days booking_minutes",
        "web_privacy": "retention_days booking_minutes",
        "web_error_too_many": "seconds",
        "ask_time": "zone hours",
        "time_in_zone": "window zone",
        "summary": "details",
        "summary_name": "name",
        "summary_contact": "contact",
        "summary_time": "time",
        "summary_voicemail": "voicemail",
        "summary_topic": "topic",
        "contact_noted": "contact",
        "urgent_summary": "contact voicemail",
        "booked": "reference",
        "urgent_booked": "reference",
        "booking_updated": "reference",
        "already_booked": "reference",
        "kept": "reference",
        "mydata_lead": "reference date name contact time voicemail topic status",
        "mydata_questions": "count",
        "mydata_session": "language",
        "staff_new_lead": "reference",
        "staff_digest": "count",
        "staff_digest_urgent": "count urgent",
        "staff_updated_lead": "reference",
        "staff_lead_body": "name contact time voicemail language topic received",
        "staff_stats": "questions answer suggest fallback en es leads urgent",
        "relay_from_firm": "reference text until",
        "relay_sent": "reference",
        "staff_status_received": "owner",
        "staff_status_claimed": "owner",
        "staff_status_done": "owner",
        "staff_unreached": "count",
        "staff_gone": "reference",
        "staff_relay": "reference text",
        "staff_relay_gone": "reference",
        "staff_prompt": "reference",
        "staff_sent": "reference hours",
        "staff_toast_take": "reference",
        "staff_toast_done": "reference",
        "staff_toast_unreached": "count",
        "staff_toast_release": "reference",
        "staff_toast_taken": "owner reference",
        "staff_toast_closed": "reference",
        "staff_toast_not_taken": "reference",
        "staff_reply_failed": "reason",
        "staff_open_digest": "hours",
        "staff_open_line": "reference received status",
        "staff_manual_delete": "reference",
    }.items()
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Localized(_Strict):
    """One short text in each language."""

    en: str = Field(min_length=1)
    es: str = Field(min_length=1)

    def __getitem__(self, language: Language) -> str:
        return self.en if language == "en" else self.es


_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class EntryText(_Strict):
    """What an entry says in one language.

    `answer` is what the person reads first: one or two sentences, the answer first.
    `unsaid` is one line of what the source does not say on this question. `details` is what
    the source says on it at more length, behind a "Read more" button; the matcher reads it
    with the answer, so that what an entry states does not shrink with the answer shown.
    `short` is the entry's question as a button label ("did you mean", related questions).
    """

    question: str = Field(min_length=3)
    short: str | None = Field(default=None, min_length=3)
    phrasings: list[str] = Field(min_length=MIN_PHRASINGS)
    answer: str = Field(min_length=20)
    unsaid: str | None = Field(default=None, min_length=10)
    details: str | None = Field(default=None, min_length=20)

    @property
    def label(self) -> str:
        """The entry's question as a button shows it."""
        return self.short or self.question

    @field_validator("phrasings")
    @classmethod
    def _phrasings_not_blank(cls, phrasings: list[str]) -> list[str]:
        if any(not phrasing.strip() for phrasing in phrasings):
            raise ValueError("a phrasing is empty")
        return phrasings


class Entry(_Strict):
    """One FAQ entry: a question answered in both languages from one source."""

    # Entry ids travel in Telegram button data, which is limited to 64 bytes.
    id: str = Field(pattern=_ID_PATTERN, max_length=40)
    topic: str = Field(pattern=_ID_PATTERN, max_length=40)
    source: str
    # The passage (or passages) of the source that the entry rests on, word for word.
    quote: str | list[str] | None = None
    reviewed: date
    intent: Literal["book"] | None = None
    # The answer touches on someone's safety, so the first such answer of a conversation adds
    # the article's limits: what the City of Los Angeles will not do is not what federal
    # agents or other agencies do.
    limits: bool = False
    # The answer says that the article does not give what is asked (the firm's fees, its
    # office): shown as written, but reported as not answered, since nothing is stated.
    declines: bool = False
    related: list[str] = Field(default_factory=list, max_length=3)
    en: EntryText
    es: EntryText

    def text(self, language: Language) -> EntryText:
        """Return this entry's text in `language`."""
        return self.en if language == "en" else self.es

    @property
    def quotes(self) -> list[str]:
        """The passages of the source the entry quotes."""
        if self.quote is None:
            return []
        return [self.quote] if isinstance(self.quote, str) else list(self.quote)


class Source(_Strict):
    """Metadata of one article the FAQ rests on."""

    id: str = Field(pattern=_ID_PATTERN)
    file: str
    title: Localized
    # How an answer names the article, with its date ("the firm's article of November 2024");
    # every answer resting on it says so, so that a reader years later knows how old it is.
    cited_as: Localized
    publisher: str
    subject_date: date
    language: Language


class Topic(_Strict):
    """A group of entries shown together when browsing."""

    id: str = Field(pattern=_ID_PATTERN)
    en: str = Field(min_length=1, max_length=60)
    es: str = Field(min_length=1, max_length=60)

    def label(self, language: Language) -> str:
        """Return this topic's name in `language`."""
        return self.en if language == "en" else self.es


class CallWindows(_Strict):
    """The firm's call-back windows, each named with its hours in each language."""

    morning: Localized
    afternoon: Localized
    evening: Localized

    def label(self, window: str, language: Language) -> str:
        """The window `window` ("morning"...) with its hours, in `language`."""
        windows = {"morning": self.morning, "afternoon": self.afternoon, "evening": self.evening}
        return windows[window][language]


class Firm(_Strict):
    """The firm's contact details, shown in answers and messages."""

    # The firm's name as people are told it (the welcome, messages from the staff); the firm
    # confirms it (`faq check` warns while it has not; until then "the law firm").
    name: str = Field(min_length=1)
    name_confirmed: bool = False
    phone: str = Field(min_length=5)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    website_section: Localized
    disclaimer: Localized
    # What the firm does with people's data; the firm confirms the wording (`faq check` warns
    # while it has not).
    sharing: Localized
    sharing_confirmed: bool = False
    # The firm's hours and its call-back windows (morning, afternoon, evening); nobody is told
    # them or asked for a window until the firm confirms them (`faq check` warns meanwhile).
    hours: Localized
    call_windows: CallWindows
    hours_confirmed: bool = False

    def placeholders(self, language: Language) -> dict[str, str]:
        """Return the values that fill `{phone}`, `{email}`... in texts and answers."""
        return {
            "firm_name": self.name,
            "phone": self.phone,
            "email": self.email,
            "website_section": self.website_section[language],
            "sharing": self.sharing[language],
        }


# The groups of intents.yaml that the reading rules (`bot.matching.reading`) combine; the loader
# reports a missing or empty one, so that the bot never starts blind to a crisis.
RULE_GROUPS = (
    "federal",
    "city",
    "person",
    "self",
    "taken",
    "detained",
    "seized",
    "seized_lately",
    "future",
    "held",
    "presence",
    "door",
    "stopped",
    "moment",
    "raid",
    "appointment",
    "deport",
    "now",
    "recent",
    "soon",
    "past",
    "nobody",
    "hearsay",
    "earlier",
    "pass_on",
    "hypothetical",
    "definition",
    "define",
    "meaning",
    "later",
    "news",
    "social",
    "distress",
    "situation",
    "medical",
    "outcome",
    "advice",
    "order",
    "refers",
    "assist",
    "enforce",
    "want",
    "talk",
    "counsel",
    "call_me",
    "framing",
    "framing_self",
    "channel",
    "covers",
    "about_you",
    "the_way",
    "pretend",
    "to_come",
)


class IntentRules(_Strict):
    """How the bot reads what a message wants, besides its topic (intents.yaml).

    `book` lists phrases that ask for a person outright; `groups` names lists of words and
    phrases (per language) that the rules of `bot.matching.reading` combine: who acts, what
    happened, where and when, so that "they took my husband this morning" is a crisis and
    "what happens if they take me?" is not.
    """

    book: dict[Language, list[str]]
    groups: dict[str, dict[Language, list[str]]]

    def phrases(self, group: str) -> list[str]:
        """Return every phrase of `group`, in both languages."""
        by_language = self.groups.get(group, {})
        return [phrase for language in LANGUAGES for phrase in by_language.get(language, [])]


class Gap(_Strict):
    """Something the article does not say on a topic it covers, and the entries nearest it."""

    terms: list[str] = Field(default_factory=list)
    entries: list[str] = Field(default_factory=list)


class Scope(_Strict):
    """Places, processes, agencies and facts the FAQ does not cover."""

    places: list[str] = Field(default_factory=list)
    processes: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    money: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    # What the article does not say on a topic it covers, by name: a question about one gets
    # the text `not_said_<name>`.
    gaps: dict[str, Gap] = Field(default_factory=dict)

    def terms(self) -> list[str]:
        """Return every uncovered term."""
        return [
            *self.places,
            *self.processes,
            *self.statuses,
            *self.agencies,
            *self.facts,
            *self.money,
            *self.topics,
            *(term for gap in self.gaps.values() for term in gap.terms),
        ]


# An answer that opens with one of these, followed by a stop or a comma, reads as a promise
# ("No." to "can I be deported?"); answers report what the article says instead.
_BARE_REPLIES = frozenset({"yes", "no", "yeah", "yep", "nope", "sí", "si", "claro"})
_FIRST_WORD = re.compile(r"^\W*(\w+)\s*([.,!;:]|$)")


def bare_reply(answer: str) -> str | None:
    """Return the bare "Yes." or "No," an answer opens with, if it does."""
    opening = _FIRST_WORD.match(answer)
    if opening is not None and opening.group(1).casefold() in _BARE_REPLIES:
        return opening.group(1)
    return None


# `{sharing}` with the space or blank lines before it, taken out while the firm has not
# confirmed the sentence, so that no gap is left where it would stand.
_SHARING_PLACEHOLDER = re.compile(r"[ \n]*\{sharing\}")


def placeholders_of(template: str) -> set[str]:
    """Return the `{names}` a template uses ("{" when its braces are broken)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return {"{"}


@dataclass
class Knowledge:
    """Everything the bot knows, loaded and validated."""

    entries: dict[str, Entry]
    sources: dict[str, Source]
    source_texts: dict[str, str]
    topics: dict[str, Topic]
    firm: Firm
    synonyms: dict[str, list[str]]
    scope: Scope
    intents: IntentRules
    texts: dict[Language, dict[str, str]]
    entry_paths: dict[str, Located] = field(default_factory=dict)

    def answer(self, entry_id: str, language: Language) -> str:
        """Return the short answer of `entry_id` in `language`, placeholders filled in."""
        return self._fill(self.entries[entry_id].text(language).answer, language)

    def answer_as_read(self, entry_id: str, language: Language, *, limits: bool) -> str:
        """Return the whole text a person reads for `entry_id`: the answer first, one line of
        what the source does not say (or instead the article's limits, when `limits`: once per
        conversation, for an entry that touches them), the firm's phone unless the answer
        gives it, and one line naming the source and its date."""
        entry = self.entries[entry_id]
        localized = entry.text(language)
        first = [self.answer(entry_id, language)]
        with_limits = limits and entry.limits
        # The article's limits, when said, are the line of what it does not say.
        if localized.unsaid and not with_limits:
            first.append(self._fill(localized.unsaid, language))
        parts = [" ".join(first)]
        if with_limits:
            parts.append(self.text(language, "answer_limits"))
        closing = self.source_label(entry_id, language)
        if self.firm.phone not in parts[0]:
            closing = f"{self.text(language, 'answer_call')}\n{closing}"
        parts.append(closing)
        return "\n\n".join(parts)

    def details_as_read(self, entry_id: str, language: Language) -> str | None:
        """Return what the "Read more" button shows for `entry_id`, with its source named."""
        entry = self.entries[entry_id]
        details = entry.text(language).details
        if details is None:
            return None
        text = self._fill(details, language)
        if entry.source in self.sources:
            source = self.sources[entry.source]
            named = self.text(
                language,
                "details_source",
                source=source.title[language],
                cited_as=source.cited_as[language],
            )
            text = f"{text}\n\n{named}"
        return text

    def for_channel(self, channel: str) -> Knowledge:
        """The same knowledge, worded for `channel`: each text `<channel>_<key>` of the texts
        files stands in for `<key>` (the web chat has no "share my phone number" button)."""
        prefix = f"{channel}_"
        texts = {
            language: {
                **words,
                **{
                    key.removeprefix(prefix): text
                    for key, text in words.items()
                    if key.startswith(prefix)
                },
            }
            for language, words in self.texts.items()
        }
        return replace(self, texts=texts)

    def text(self, language: Language, key: str, /, **values: str) -> str:
        """Return the user-facing text `key` in `language`, placeholders filled in."""
        expected = TEXT_PLACEHOLDERS.get(key, frozenset())
        if values.keys() != expected:
            raise ValueError(f"text '{key}' takes {sorted(expected)}, given {sorted(values)}")
        return self._fill(self.texts[language][key], language, **values)

    def _fill(self, template: str, language: Language, /, **values: str) -> str:
        """Fill in `template` with what the firm has confirmed: its sentence on sharing data
        only once `sharing_confirmed`, its name only once `name_confirmed` (until then "the law
        firm"); the texts around them already say what the bot itself does."""
        firm = self.firm
        shown = firm.placeholders(language)
        if not firm.sharing_confirmed:
            template = _SHARING_PLACEHOLDER.sub("", template)
        if not firm.name_confirmed:
            shown["firm_name"] = self.texts[language]["firm_unnamed"]
        return template.format_map({**shown, **values})

    def source_label(self, entry_id: str, language: Language) -> str:
        """Return a short line naming where the answer of `entry_id` comes from, and its date."""
        entry = self.entries[entry_id]
        if entry.source == ASSISTANT_SOURCE:
            return self.text(language, "source_assistant")
        if entry.source == FIRM_SOURCE:
            return self.text(language, "source_firm")
        source = self.sources[entry.source]
        # The article's date, not the date the firm last reviewed the answer: that one is for
        # the firm (`faq check` warns when it is old).
        return self.text(language, "source_line", cited_as=source.cited_as[language])
