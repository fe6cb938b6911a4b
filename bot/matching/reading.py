"""What a message wants besides its topic, read from words that occur together.

A list of fixed phrases misses "se llevaron a mi esposo esta mañana" when it knows "they took
my husband", and flags "what happens if they take me?" as a crisis. Instead, `intents.yaml`
names groups of words (who acts, what happened, where, when, whether it is a question about
what could happen) and the rules below combine them within one clause:

- **urgent**: someone was just taken or is held (and it is not long past, hypothetical or a
  definition); agents are at the door, outside or at work, or there this very moment;
  someone is knocking and the person is asking whether to open, or is hiding; the police have
  stopped someone right now; a raid is happening where the person is; an immigration hearing,
  an ICE check-in or a deportation is days away; a danger to life with agents there. A story
  set in the past stays past in the clauses after it until one says it is now;
- **medical**: a danger to life, which needs 911 before any lawyer;
- **book**: the person asks to talk to someone, or to be called;
- **personal**: the question asks what will happen to a person, or what they should do,
  which no article answers;
- **enforcement**: the question asks what immigration agents (or the police) can do, such as
  come into a home or ask for papers, which the article does not say;
- **definition**: the question asks what a word means, which the article never defines;
- **framing**: a general question framed personally ("is the law for people like me?"),
  which the article answers for everyone, not for one person's case;
- **channel**: the question asks for the firm's email, website or phone, not for a person;
- **the_way**: the question asks how or where to book, which the firm's ways in answer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.faq.knowledge import RULE_GROUPS, IntentRules
from bot.matching.text import PhraseDetector, fold
from bot.privacy import mark_contacts, strip_contacts

# A number in a phrase ("hace N años", "in N days") is written N; it matches digits and the
# number words below.
NUMBER = "n"
_NUMBER_WORDS = frozenset(
    [
        "a",
        "an",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "few",
        "couple",
        "several",
        "un",
        "una",
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "unos",
        "unas",
        "par",
    ]
)
# Markers of a question about what could happen count only at the start of a clause ("can
# ICE come in?") or before the event ("what happens if they take me").
_CLAUSE_START = 2
# "Help", "tengo miedo, ayúdenme": a call for help is short; a longer message without a
# question mark says what it is about, and is read for that.
_DISTRESS_LENGTH = 8
_YEAR = re.compile(r"^(19|20)\d\d$")
_DECADE = re.compile(r"^(19)?[2-9]0s$")
# Where an email or a phone stood in a message, for reading its clauses.
_GIVEN_CONTACT = "\u2063contact\u2063"
# A message voice-typed without punctuation still turns where someone says what is happening
# now: "...yo no sé a quién creerle el caso es que ahorita están en mi puerta"; a reason is
# its own clause: "no puede respirar porque le dijeron que agarraron a mi tío".
_CLAUSE_BREAK = re.compile(
    "[.!?¿¡;:,\n]+|\\s[-\u2013\u2014]\\s"
    "|\\s(?:el caso es que|lo que pasa es que|the thing is)\\s"
    "|\\s(?=(?:pero|but) (?:ahorita|ahora|right now|just now|now)\\b)"
    "|\\s(?=(?:porque|because) )",
    re.IGNORECASE,
)
# Sentences end at ".", "!", "?" or a line break; a Spanish question starts at "¿".
# A colon before a space ends a sentence too: "Reporter here, confirming basics: which body
# approved it?" asks in its second part.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\n])\s*|(?<=:)\s+|(?=[¿¡])")


# Words that open a question written without a question mark ("is it stored somewhere").
QUESTION_OPENERS = frozenset(
    [
        "what",
        "whats",
        "who",
        "whos",
        "when",
        "where",
        "why",
        "how",
        "which",
        "is",
        "are",
        "does",
        "do",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "que",
        "quien",
        "quienes",
        "cuando",
        "donde",
        "por",
        "como",
        "cual",
        "cuales",
        "puede",
        "pueden",
        "es",
        "esta",
        "hay",
        "tienen",
    ]
)


# "Mi pregunta es si con esta ley la policía puede ayudar a inmigración.", "I'd like to know
# what the officials said.": a question asked without a question mark or a question word.
_ASKING = re.compile(
    r"\b(?:my question is|i want to know|i wanna know|i would like to know|id like to know|"
    r"i was wondering|can you tell me|mi pregunta es|quiero saber|quisiera saber|"
    r"me gustaria saber|queria saber|me puede decir|me podria decir)\b"
)


def _asks(sentence: str) -> bool:
    if "?" in sentence or sentence[0] == "¿":
        return True
    folded = fold(sentence)
    words = folded.split()
    return bool(words) and (words[0] in QUESTION_OPENERS or _ASKING.search(folded) is not None)


# Words that open a sentence about the person writing, not a question ("I have a shop in
# Koreatown.", "yo hablo mixteco, poquito español.", "Soy de Totonicapán."), or a greeting.
_STORY_OPENERS = frozenset(
    [
        "i",
        "im",
        "ive",
        "my",
        "we",
        "our",
        "hi",
        "hello",
        "hey",
        "yo",
        "mi",
        "mis",
        "soy",
        "somos",
        "tengo",
        "tenemos",
        "trabajo",
        "vivo",
        "hablo",
        "vine",
        "hola",
        "buenas",
        "buenos",
        # "perdón, no escribo bien español", "sorry my english is bad": about the writing
        "perdon",
        "perdone",
        "disculpe",
        "disculpa",
        "sorry",
    ]
)
# "...porque fui a sacar un permiso y me pidieron datos": a reason the person gives about
# themselves closes the question; what it asks is before it.
_OWN_REASON = re.compile(r"\s(?:because|since|porque|ya que)\s", re.IGNORECASE)
_SELF_WORDS = frozenset(["i", "im", "my", "me", "we", "our", "yo", "mi", "mis", "me", "nos"])


# "If I ask the city for help, will they share my information?": the condition sets the
# scene; what is asked comes after the comma.
# "When the critics spoke, what did the city say?" too, but not "when was it passed, ...".
_OWN_CONDITION = re.compile(
    r"^\W*(?P<condition>(?:if|si|before|after|antes de|despues de|(?:when|cuando)"
    r"(?!\s+(?:was|were|is|did|does|do|will|can|fue|es|se)\b))\s+[^,]+),\s*(?P<asked>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_MIN_ASKED_WORDS = 3
# "¿La ciudad da nuestros nombres a migración cuando uno saca permiso?", "do they share my
# data if I ask for help?": a scene set after the question, by someone like the person.
_TRAILING_CONDITION = re.compile(
    r"\s(?P<condition>(?:if|si|when|cuando)\s+(?:uno|yo|i|you|we|one|nosotros|alguien|"
    r"someone|people|la gente)\s[^.?!¿]*)",
    re.IGNORECASE,
)
# "What's your email so I can print it on our resource sheet?", "...para poder mandarle mis
# papeles": what the person will do with the answer, not what is asked.
_TRAILING_PURPOSE = re.compile(
    r"\s(?P<condition>(?:so(?: that)? (?:i|we) (?:can|could)|para poder)\s[^.?!¿]*)",
    re.IGNORECASE,
)


# "¿Puede entrar la migra?": the words between a verb of what agents do and the agents.
_AGENTS_AFTER_THE_VERB = 1


def own_conditions(text: str) -> str:
    """Return the conditions that open the questions of `text` ("if I ask the city for help,
    ...", "si llamo a la ciudad, ..."): they set the scene, and the entry need not state their
    words."""
    found = []
    told = sentences(text)
    for sentence, following in zip(told, [*told[1:], ""], strict=True):
        if _opens_on_a_condition(sentence, following):
            found.append(sentence)
            continue
        condition = _OWN_CONDITION.match(sentence)
        if condition is not None and len(condition["asked"].split()) >= _MIN_ASKED_WORDS:
            found.append(condition["condition"])
            continue
        for trailing in (_TRAILING_CONDITION.search(sentence), _TRAILING_PURPOSE.search(sentence)):
            if (
                trailing is not None
                and len(sentence[: trailing.start()].split()) >= _MIN_ASKED_WORDS
            ):
                found.append(trailing["condition"])
                break
    return " ".join(found)


# "En la junta del distrito alguien dijo que California es santuario desde 2017": who said a
# claim, and where, is the story; what they said is what is checked.
# Matched on folded text: lower case, without punctuation.
_REPORTED = re.compile(
    r"^(?P<speaker>.{0,80}?)\s(?:me |nos |le |les )?(?:dijo|dice|dicen|decia|dijeron|"
    r"comento|conto|said|says|say|told me|told us|heard|oi|escuche)\s(?:que|that)\s"
)


def reported_speakers(text: str) -> str:
    """Return who reports the claims of `text`, and where ("my uncle at church", "en la junta
    del distrito alguien"): they set the scene, and the entry need not state their words."""
    found = []
    for sentence in sentences(text):
        reported = _REPORTED.match(fold(sentence))
        if reported is not None:
            found.append(reported["speaker"])
    return " ".join(found)


def _without_own_reason(sentence: str) -> str:
    found = _OWN_REASON.search(sentence)
    if found is None:
        return sentence
    reason = fold(sentence[found.end() :]).split()
    if _SELF_WORDS.isdisjoint(reason):
        return sentence
    return sentence[: found.start()]


def asks_something(text: str) -> bool:
    """Whether a sentence of `text` is a question ("ICE just took my husband" is not)."""
    return any(_asks(sentence) for sentence in sentences(text))


def sentences(text: str) -> list[str]:
    """Return the sentences of `text`, in order."""
    return [part.strip() for part in _SENTENCE_BREAK.split(text) if part.strip()]


_REPORTED_QUESTION = re.compile(
    r"\b(?:(?:they|he|she|people|members|families) (?:ask|asks|asked|are asking|keep asking)"
    r"(?: me| us)? (?:if|whether)|(?:preguntan|pregunta|preguntaron) si)\b"
)


def questions_alone(text: str) -> str:
    """Return only the sentences of `text` that are questions, or all of it when none is."""
    return " ".join(sentence for sentence in sentences(text) if _asks(sentence)) or text


def question_part(text: str, *, reach_back: bool = False) -> str:
    """Return the sentences of `text` that ask something, or all of it when none or all do;
    with `reach_back`, each with the sentence before it ("Quiero contarles qué opinaron los
    grupos. ¿Usted sabe qué dijeron?").

    A message is often a story with the question inside ("Hi! I do landscaping in the
    Valley, three kids... Can the city police help ICE now or not?"): what it asks is in the
    sentences with a question mark, and the story's words (a place, a raid seen on TV, a
    job) are not what the entry must state. Without a question mark, the sentences about the
    person writing ("yo hablo mixteco poquito español.") are the story.
    """
    told = sentences(text)
    asked = [
        sentence
        for index, sentence in enumerate(told)
        if _asks(sentence)
        or (
            index + 1 < len(told)
            and (
                (reach_back and _asks(told[index + 1]))
                or _points_back(told[index + 1])
                or _follows_on(told[index + 1])
                or _opens_on_a_condition(sentence, told[index + 1])
            )
        )
    ]
    if not asked:
        # "They ask if LA city give their information to immigration office.": a question
        # told of, in a message that asks none itself.
        asked = [sentence for sentence in told if _REPORTED_QUESTION.search(fold(sentence))]
    if not asked:
        asked = [sentence for sentence in told if not _tells_own_story(sentence)] or told
    asked = [_without_own_reason(sentence) for sentence in asked]
    if not asked or asked == told:
        return text
    return " ".join(asked)


# "Trump keeps saying mass deportations. Is LA going to work with that or not?", "¿Es cierto
# eso?": a question that ends on "that" asks about the sentence before it, which is read with
# it; "does the city hand that stuff over?" names what it asks.
_POINTING_BACK = frozenset(["that", "this", "eso", "esto"])
_AFTER_POINTING_BACK = frozenset(
    ["is", "or", "not", "right", "true", "correct", "es", "o", "no", "cierto", "verdad", "asi"]
)


# "Es cierto eso o con la ley nueva ya no pueden compartir nada?", "is that true, or can
# they still...": a check of what was just said opens the question.
_CHECK_OPENING = re.compile(
    r"^(?:(?:so|and|but|pero|y|entonces) )?(?:is (?:that|this) (?:true|right|correct)|"
    r"es (?:cierto|verdad) (?:eso|esto)|(?:eso|esto) es (?:cierto|verdad)|"
    r"is it true|es cierto|es verdad|true or false|who is (?:right|correct)|"
    r"whos (?:right|correct)|quien tiene (?:la )?razon)\b"
)


def _points_back(sentence: str) -> bool:
    if not _asks(sentence):
        return False
    folded = fold(sentence)
    words = folded.split()
    return any(
        word in _POINTING_BACK and _AFTER_POINTING_BACK.issuperset(words[index + 1 :])
        for index, word in enumerate(words)
    ) or _checks_what_was_said(folded)


def _checks_what_was_said(folded: str) -> bool:
    """Whether a question checks the sentence before it: "is that true, or...?" points at it,
    "who is right?" or "¿es cierto?" alone asks about nothing else."""
    found = _CHECK_OPENING.match(folded)
    if found is None:
        return False
    rest = folded[found.end() :].split()
    return not _POINTING_BACK.isdisjoint(folded.split()) or len(rest) <= 1


# "ley nueva de LA quien lo aprueba. cuando": a question of a word or two goes on from the
# sentence before it.
_FOLLOW_ON_WORDS = 2


def _follows_on(sentence: str) -> bool:
    return _asks(sentence) and len(fold(sentence).split()) <= _FOLLOW_ON_WORDS


# "Si empiezan las deportaciones masivas, ¿la ciudad les va a echar la mano?": the
# condition before an opening question mark is part of the question.
_CONDITION_WORDS = frozenset(["if", "si"])


# "Entonces, si el gobierno hace esas deportaciones, ¿la ciudad va a ayudar?": words that lead
# into a condition without being part of it.
_LEAD_INS = frozenset(["entonces", "so", "and", "y", "pero", "but", "ok", "bueno", "then", "oye"])


def _opens_on_a_condition(sentence: str, following: str) -> bool:
    words = [word for word in fold(sentence).split()[:3] if word not in _LEAD_INS]
    return bool(words) and words[0] in _CONDITION_WORDS and following.startswith("¿")


def _tells_own_story(sentence: str) -> bool:
    words = fold(sentence).split()
    return not words or words[0] in _STORY_OPENERS


# A second question joined to the first ("what prompted it, and when was it passed?", "¿quién
# la aprobó y cuándo?"): a question mark, or "and"/"y" or a comma before a question word.
_SUB_QUESTION = re.compile(
    r"\?+|,?\s+(?:and|y|e)\s+(?=(?:when|who|why|where|how|what|which|cu[aá]ndo|qui[eé]n|"
    r"por qu[eé]|d[oó]nde|c[oó]mo|qu[eé]|cu[aá]l)\b)|,\s*(?=(?:when|who|why|where|"
    r"cu[aá]ndo|qui[eé]n|por qu[eé]|d[oó]nde)\b)",
    re.IGNORECASE,
)


_ALTERNATIVE = frozenset(["or", "o", "u"])


def sub_questions(text: str) -> list[str]:
    """Return the questions of `text` one by one ("who approved it", "and when?"); an "or..."
    asks the question before it another way ("¿ICE todavía puede arrestar gente? ¿o la ley
    los para también?")."""
    parts: list[str] = []
    for part in _SUB_QUESTION.split(text):
        if not part or not part.strip():
            continue
        words = fold(part).split()
        if parts and words and words[0] in _ALTERNATIVE:
            parts[-1] = f"{parts[-1]} {part.strip()}"
        else:
            parts.append(part.strip())
    return parts


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message wants, besides the topic it is about."""

    urgent: bool = False
    medical: bool = False
    book: bool = False
    personal: bool = False
    enforcement: bool = False
    # Asks what a word means ("what is a sanctuary city?"): the article defines nothing.
    definition: bool = False
    # Thanks or a greeting ("thank you!", "how are you?").
    social: bool = False
    # Fear or a call for help that asks nothing ("help", "tengo miedo").
    distress: bool = False
    # A general question framed personally ("is the law for people like me?"): answered with
    # one line that no one's own case is assessed.
    framing: bool = False
    # The framing names the one who asks ("someone like me"), not a group ("people like her").
    own_framing: bool = False
    # Asks for one of the firm's ways in (its email, website or phone), not for a person.
    channel: bool = False
    # Asks how or where to find a lawyer or an appointment ("how do I make an appointment?");
    # with a booking asked for, the firm's ways in answer it.
    the_way: bool = False


# At most this many words between the agents and where they are ("there are immigration
# agents at the factory where I work right now").
_PRESENCE_SPAN = 6
# A clause this short with "how do I" in it asks nothing else ("¿cómo le hago?").
_BARE_QUESTION = 4


@dataclass(frozen=True, slots=True)
class _Hit:
    group: str
    start: int
    end: int


_WANTING_TO_KNOW = frozenset(["know", "saber", "understand", "entender"])


class _Clause:
    """The group hits of one clause, with questions about where they are."""

    def __init__(self, hits: Sequence[_Hit], tokens: Sequence[str]) -> None:
        self.tokens = tokens
        self.length = len(tokens)
        self._by_group: dict[str, list[_Hit]] = defaultdict(list)
        for hit in hits:
            self._by_group[hit.group].append(hit)

    def has(self, *groups: str) -> bool:
        return any(self._by_group.get(group) for group in groups)

    def first(self, *groups: str) -> int | None:
        starts = [hit.start for group in groups for hit in self._by_group.get(group, ())]
        return min(starts) if starts else None

    def hits(self, group: str) -> list[_Hit]:
        return self._by_group.get(group, [])

    def starts_with(self, group: str) -> bool:
        return any(hit.start < _CLAUSE_START for hit in self._by_group.get(group, ()))

    def near(self, group: str, other: str, within: int) -> bool:
        """Whether a hit of `group` and one of `other` are at most `within` words apart."""
        return any(
            max(hit.start - near.end, near.start - hit.end) <= within
            for hit in self._by_group.get(group, ())
            for near in self._by_group.get(other, ())
        )

    def before(self, earlier: str, *later: str) -> bool:
        """Whether some hit of `earlier` starts before the first hit of any of `later`."""
        position = self.first(*later)
        return position is not None and any(
            hit.start < position for hit in self._by_group.get(earlier, ())
        )


class Reader:
    """Reads messages with the word groups and booking phrases of `intents.yaml`."""

    def __init__(self, rules: IntentRules, *, this_year: int) -> None:
        self._this_year = this_year
        groups_by_phrase: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for group in RULE_GROUPS:
            for phrase in rules.phrases(group):
                key = tuple(fold(phrase).split())
                if key:
                    groups_by_phrase[key].add(group)
        for phrases in rules.book.values():
            for phrase in phrases:
                key = tuple(fold(phrase).split())
                if key:
                    groups_by_phrase[key].add("book")
        self._groups = {key: frozenset(groups) for key, groups in groups_by_phrase.items()}
        self._longest = max((len(key) for key in self._groups), default=0)
        self._first_words = {key[0] for key in self._groups}
        # Asking for a person is worth catching even misspelled ("kiero ablar con alguien").
        asking = [phrase for phrases in rules.book.values() for phrase in phrases]
        self._asking = PhraseDetector([*asking, *rules.phrases("call_me")])

    def read(self, text: str) -> Reading:
        """Return what `text` wants: a crisis, a medical emergency, a person, a personal case."""
        parts = [fold(part).split() for part in _CLAUSE_BREAK.split(strip_contacts(text))]
        parts = [tokens for tokens in parts if tokens]
        clauses = [self._clause(tokens) for tokens in parts]
        everything = [token for tokens in parts for token in tokens]
        return Reading(
            urgent=self._tells_of_crisis(parts, clauses),
            medical=any(clause.has("medical") for clause in clauses),
            book=any(self._asks_for_a_person(clause) for clause in clauses)
            or (
                self._asking.found(everything)
                and not any(_asks_what_you_are(clause) for clause in clauses)
            ),
            personal=self._asks_own_case(clauses),
            enforcement=any(self._asks_about_enforcement(clause) for clause in clauses),
            definition=any(
                _asks_for_a_definition(clause)
                # "For old people like me, what this law mean?": what it means for someone.
                and not (index and clauses[index - 1].tokens[0] in _NOT_A_DEFINITION)
                for index, clause in enumerate(clauses)
            ),
            social=any(clause.has("social") for clause in clauses),
            distress="?" not in text
            and len(everything) <= _DISTRESS_LENGTH
            and not QUESTION_OPENERS.intersection(everything[:1])
            and any(clause.has("distress") for clause in clauses),
            framing=any(clause.has("framing") for clause in clauses),
            own_framing=any(clause.has("framing_self") for clause in clauses),
            channel=any(clause.has("channel") for clause in clauses),
            # "Quiero una consulta, ¿cómo le hago?": a bare "how do I?" asks the way too.
            the_way=any(
                clause.before("the_way", "book", "call_me", "counsel")
                or (clause.has("the_way") and clause.length <= _BARE_QUESTION)
                for clause in clauses
            ),
        )

    def clauses_with(self, text: str, group: str) -> str:
        """Return the clauses of `text` where `group` is found ("what number can I call"),
        but not those giving an email or a phone: "email is ana@example.com" offers the
        person's own."""
        parts = _CLAUSE_BREAK.split(mark_contacts(text, f" {_GIVEN_CONTACT} "))
        return " ".join(
            part
            for part in parts
            if _GIVEN_CONTACT not in part.split() and group in self.groups(part)
        )

    @property
    def words(self) -> set[str]:
        """Every word of every phrase the rules look for."""
        return {word for key in self._groups for word in key}

    def groups(self, text: str) -> set[str]:
        """Return the groups found anywhere in `text` (for tests and `faq check`)."""
        tokens = fold(text).split()
        return {hit.group for hit in self._hits(tokens)}

    # --- rules -----------------------------------------------------------------------------

    def _tells_of_crisis(self, parts: Sequence[Sequence[str]], clauses: Sequence[_Clause]) -> bool:
        """Whether a clause, or two clauses read together ("They are knocking, they say they are
        from immigration"), tell of a crisis now.

        A story set in the past stays there until a clause says it is now: in "A couple of
        months ago ICE came into our ER. He was taken back", the second clause is no crisis,
        while in "I came ten years ago. ICE just took my husband" it is.
        """
        heard_of = any(clause.has("news", "hearsay") for clause in clauses)
        if any(clause.has("pretend") for clause in clauses):
            # "Anoche soñé que la migra se llevó a mi hija", "hicimos un role play de una
            # detención": only a clause that says it is this very moment tells of a crisis.
            return any(self._is_crisis(now) for now in map(self._after_pretending, clauses))
        stale = _stale(clauses)
        # "Mi mamá se desmayó y hay agentes": a danger to life with agents there; 911 first,
        # then the firm.
        now = [clause for clause, old in zip(clauses, stale, strict=True) if not old]
        if any(clause.has("medical") and not _long_past(clause) for clause in now) and any(
            clause.has("federal") and not (_long_past(clause) or clause.has("news"))
            for clause in now
        ):
            return True
        for index, clause in enumerate(clauses):
            if stale[index]:
                continue
            if self._is_crisis(clause, heard_of=heard_of):
                return True
            # "Yo me escondí y no me agarraron. Ahora trabajo en otro lugar": the clause that
            # says it is now does not bring the past one with it.
            if index and not (
                stale[index - 1] or _long_past(clauses[index - 1]) or _long_past(clause)
            ):
                pair = self._clause([*parts[index - 1], *parts[index]])
                if self._is_crisis(pair, paired=True, heard_of=heard_of):
                    return True
        return False

    def _after_pretending(self, clause: _Clause) -> _Clause:
        """Return what `clause` says from this very moment on, after any dream or drill
        ("anoche soñé con la migra y ahorita mismo están tocando"), or nothing."""
        pretend = clause.first("pretend")
        moments = [
            hit.start for hit in clause.hits("moment") if pretend is None or hit.start > pretend
        ]
        if not moments:
            return self._clause([])
        return clause if pretend is None else self._clause(clause.tokens[min(moments) :])

    def _is_crisis(self, clause: _Clause, *, paired: bool = False, heard_of: bool = False) -> bool:
        if clause.starts_with("definition") or clause.has("news"):
            return False
        # An immigration hearing or check-in days away is a crisis, however it is asked: for
        # someone named, with no lawyer ("court tomorrow 8am no lawyer"), or said alone
        # ("hearing in 2 days, just got notice"), though not the city council's hearing; and
        # whatever else happened long ago ("check-in this Monday and his friend who went last
        # week was detained").
        if (
            _names_an_appointment(clause)
            and clause.has("soon")
            and (clause.has("person", "counsel") or not clause.has("city"))
        ):
            return not clause.has("later")
        if _long_past(clause):
            return False
        # "En la escuela dicen que la migra se va a llevar a los papás": a taking still to
        # come, unless it is this very moment.
        if clause.has("to_come") and not clause.has("moment"):
            return False
        taken = (
            clause.has("taken")
            or (clause.has("detained") and clause.has("person", "federal"))
            or (clause.has("held") and clause.has("person"))
            # "They said on TV that ICE is arresting people in Glendale": heard of, and
            # about no one the person names.
            or (
                clause.has("seized")
                and clause.has("federal")
                and not _helps_to(clause)
                and not (heard_of and not clause.has("self"))
            )
        )
        # "One hour ago ICE arrest the son of our church member": the past told in the
        # present, which only a time of the last hours tells from "will ICE arrest him?".
        if (
            clause.has("seized_lately")
            and clause.has("federal")
            and clause.has("recent")
            and not _hypothetical(clause, "seized_lately")
            and not clause.has("future")
        ):
            return True
        # "She is now in detention and her hearing is in three months": held, not a crisis yet.
        if clause.has("held") and clause.has("later"):
            return False
        if taken and not _hypothetical(clause, "taken", "detained", "seized", "held"):
            return True
        # "Están deteniendo gente en el Home Depot ahorita": whoever does it, this very moment.
        if clause.has("seized") and clause.has("moment") and clause.has("person", "presence"):
            return not (_hypothetical(clause, "seized") or clause.has("hearsay"))
        # "ICE is outside", "hay agentes afuera": the agents are where the presence is, not
        # the tamale stand "afuera de una estación" of a story that ends with "inmigración".
        # "En la esquina dicen que cuando llega la migra...": a habit, wherever it is told.
        if clause.near("presence", "federal", _PRESENCE_SPAN):
            return not (_hypothetical(clause, "presence") or _hypothetical(clause, "federal"))
        # Agents there this very moment ("ICE en mi restaurante ahora mismo", "agents at the
        # church door now"), said in one clause ("ICE came three months ago. Now they are
        # deported" tells of two times), unless someone else says so ("my group chat says ICE
        # is at the car wash right now") or it asks what the city does now ("¿la ciudad le da
        # información a ICE ahora?"); "police and ICE took my husband right now" is a crisis.
        if (
            not paired
            and clause.has("federal")
            and clause.has("moment")
            and not clause.has("hearsay")
            and (clause.has("person") or not clause.has("city"))
        ):
            return not _hypothetical(clause, "federal")
        # Someone knocking while the person asks whether to open, or hides: whoever knocks.
        # "Ayer tocaron la puerta y me escondí" tells of yesterday.
        if clause.has("door"):
            return not (_hypothetical(clause, "door") or clause.has("earlier"))
        # The police have stopped someone this very moment (not yesterday: what a stop may
        # lead to is then a question, not a crisis).
        if clause.has("stopped") and clause.has("city", "federal") and clause.has("moment"):
            return not _hypothetical(clause, "stopped")
        # A raid going on now where the person is ("raid at my job right now"), not one heard of
        # elsewhere ("raids in boyle heights rn?? tiktok says").
        if clause.has("raid") and clause.has("moment", "presence"):
            return not (_hypothetical(clause, "raid") or (heard_of and not clause.has("self")))
        if clause.has("deport") and clause.has("soon") and clause.has("person"):
            return not _hypothetical(clause, "deport")
        return False

    def _asks_for_a_person(self, clause: _Clause) -> bool:
        if _asks_what_you_are(clause):
            return False
        if clause.has("book", "call_me"):
            return True
        counsel = clause.first("counsel")
        # "Mi mamá quiere saber si esto cuenta como asesoría de un abogado" wants to know.
        wants = counsel is not None and any(
            hit.start < counsel
            and _WANTING_TO_KNOW.isdisjoint(clause.tokens[hit.end : hit.end + 2])
            for hit in clause.hits("want")
        )
        return wants or clause.before("talk", "counsel")

    def _asks_own_case(self, clauses: Sequence[_Clause]) -> bool:
        """Whether the message asks what will happen to a person, or what they should do.

        "If I ask the city for help, do they give my information to ICE?" sets a situation
        but asks what the city does, which the article states: the person's "if" is a framing.
        """
        if not any(self._is_personal(clause) for clause in clauses):
            return False
        if any(clause.has("advice", "outcome", "order") for clause in clauses):
            return True
        return not (
            any(clause.has("city") for clause in clauses)
            and any(clause.has("assist") for clause in clauses)
        )

    def _is_personal(self, clause: _Clause) -> bool:
        if clause.has("pass_on") and not clause.has("outcome"):
            # "She asked me if LA protects immigrants. What should I tell her?"
            return False
        if clause.has("advice", "situation"):
            return True
        if clause.has("order") and clause.has("self"):
            return True
        if not clause.has("outcome"):
            return False
        # "Can the LA police hand my cousin over to ICE?" asks what the police do.
        return not (clause.has("city") and clause.before("assist", "outcome"))

    def _asks_about_enforcement(self, clause: _Clause) -> bool:
        if not clause.has("enforce") or clause.before("assist", "enforce"):
            return False
        if clause.has("assist") and clause.has("city"):
            # "¿La policía todavía puede ayudar a la migra?" asks what the city's police do.
            return False
        # "¿Qué puede hacer ICE todavía?": in Spanish the agents often follow the verb.
        return (
            clause.before("federal", "enforce")
            or clause.before("city", "enforce")
            or clause.near("enforce", "federal", _AGENTS_AFTER_THE_VERB)
        )

    # --- finding the groups ------------------------------------------------------------------

    def _clause(self, tokens: Sequence[str]) -> _Clause:
        return _Clause(self._hits(tokens), tokens)

    def _hits(self, tokens: Sequence[str]) -> list[_Hit]:
        generic = [NUMBER if self._is_number(token) else token for token in tokens]
        hits: list[_Hit] = []
        for start in range(len(tokens)):
            if self._is_past_year(tokens[start]):
                hits.append(_Hit("past", start, start + 1))
            if tokens[start] not in self._first_words and generic[start] not in self._first_words:
                continue
            for size in range(1, min(self._longest, len(tokens) - start) + 1):
                for window in _windows(tokens, generic, start, size):
                    for group in self._groups.get(window, ()):
                        if group == "hypothetical" and _says_yes(tokens, start, size):
                            continue
                        if group == "outcome" and _not_sure(tokens, start, size):
                            continue
                        hits.append(_Hit(group, start, start + size))
        return hits

    def _is_number(self, token: str) -> bool:
        return token.isdigit() or token in _NUMBER_WORDS

    def _is_past_year(self, token: str) -> bool:
        """A year before this one ("2015"), or a decade ("the 80s")."""
        if _DECADE.match(token):
            return True
        return bool(_YEAR.match(token)) and int(token) < self._this_year


# "What does it mean for immigrants" asks about significance, not a definition.
_NOT_A_DEFINITION = frozenset({"for", "para"})


# "Does this mean people without papers can feel safer?", "¿eso quiere decir que...?" draw a
# conclusion from the law; they do not ask what a word means.
_CONCLUDING_FROM = frozenset({"this", "that", "it", "esto", "eso"})
_ASKING_WHAT = frozenset({"what", "whats", "que"})


def _asks_for_a_definition(clause: _Clause) -> bool:
    if clause.starts_with("define"):
        return True
    return any(
        not _NOT_A_DEFINITION.intersection(clause.tokens[hit.end :])
        and not (
            hit.start
            and clause.tokens[hit.start - 1] in _CONCLUDING_FROM
            and clause.tokens[0] not in _ASKING_WHAT
        )
        for hit in clause.hits("meaning")
    )


def _asks_what_you_are(clause: _Clause) -> bool:
    """Whether the clause asks if the assistant is a person ("are you a real person?")."""
    return clause.has("about_you") and not clause.has("want")


def _stale(clauses: Sequence[_Clause]) -> list[bool]:
    """For each clause, whether it goes on with a story set in the past without saying it is
    now ("Hace un año vino la migra. Se llevaron a dos compañeros")."""
    stale: list[bool] = []
    in_the_past = False
    for index, clause in enumerate(clauses):
        current = clause.has("recent", "moment")
        stale.append(in_the_past and not current)
        if _sets_in_the_past(clause):
            in_the_past = True
            # "Me tuvieron detenida meses, pero eso pasó hace mucho": the date points back.
            if (
                index
                and _dates_the_one_before(clause)
                and not clauses[index - 1].has("recent", "moment")
            ):
                stale[index - 1] = True
        elif current:
            in_the_past = False
    return stale


def _dates_the_one_before(clause: _Clause) -> bool:
    """Whether the clause opens by pointing at the one before ("that was years ago")."""
    words = [word for word in clause.tokens[: _CLAUSE_START + 1] if word not in _LEAD_INS]
    return bool(words) and words[0] in _POINTING_BACK


def _names_an_appointment(clause: _Clause) -> bool:
    """Whether the clause names a hearing or check-in, not "I keep hearing that..."."""
    return any(
        not (
            clause.tokens[hit.start : hit.end] == ["hearing"]
            and hit.start
            and clause.tokens[hit.start - 1] in _HEARING_AS_A_VERB_AFTER
        )
        for hit in clause.hits("appointment")
    )


# "I keep hearing", "we've been hearing", "I'm hearing": hearing of something.
_HEARING_AS_A_VERB_AFTER = frozenset(
    {"keep", "keeps", "kept", "been", "im", "am", "are", "were", "was", "is", "start", "started"}
)


def _long_past(clause: _Clause) -> bool:
    # "Mi abogado dejó de contestar desde hace una semana": how long something has gone on,
    # not when the story happened.
    told = any(not _is_duration(clause, hit) for hit in clause.hits("past"))
    return (told and not clause.has("recent")) or clause.has("nobody")


# "Llevo 20 años aquí", "trabajo aquí desde hace 6 años", "here since 2010": how long someone
# has lived here, not when the story happened.
_DURATION_UNITS = frozenset({"years", "anos", "yrs"})
_DURATION_OPENERS = frozenset({"desde", "for", "since"})


def _sets_in_the_past(clause: _Clause) -> bool:
    """Whether the clause tells when a story happened, long ago ("hace un año", "in January",
    "when I was little")."""
    if clause.has("recent"):
        return False
    for hit in clause.hits("past"):
        words = clause.tokens[hit.start : hit.end]
        if len(words) == 1 and (_YEAR.match(words[0]) or _DECADE.match(words[0])):
            continue
        if (len(words) == 2 and words[0] != "hace" and words[1] in _DURATION_UNITS) or (
            _is_duration(clause, hit)
        ):
            continue
        return True
    return False


def _is_duration(clause: _Clause, hit: _Hit) -> bool:
    return bool(hit.start) and clause.tokens[hit.start - 1] in _DURATION_OPENERS


# "Hola, sí, mire, están aquí afuera": "si" before a word said to the listener is "yes".
_SAID_TO_THE_LISTENER = frozenset(
    {"mire", "mira", "oiga", "oye", "fijese", "fijate", "senor", "senora", "senorita", "claro"}
)


def _says_yes(tokens: Sequence[str], start: int, size: int) -> bool:
    return (
        size == 1
        and tokens[start] == "si"
        and start + 1 < len(tokens)
        and tokens[start + 1] in _SAID_TO_THE_LISTENER
    )


# "Yo le dije que no es cierto pero no estoy seguro": not sure, not "am I safe?".
_SURE = frozenset({"seguro", "segura", "seguros", "seguras"})


def _not_sure(tokens: Sequence[str], start: int, size: int) -> bool:
    return (
        size == 2
        and start > 0
        and tokens[start - 1] == "no"
        and tokens[start] in {"estoy", "estamos"}
        and tokens[start + 1] in _SURE
    )


def _helps_to(clause: _Clause) -> bool:
    """Whether a taking word is what the city would help agents do ("¿la policía ayuda a la
    migra a agarrar gente?"), asked of no moment: a question, not a crisis."""
    return (
        clause.has("city")
        and clause.before("assist", "seized")
        and not clause.has("moment", "recent")
    )


def _hypothetical(clause: _Clause, *events: str) -> bool:
    """Whether the clause asks what could happen ("what if they take me") about `events`."""
    return clause.starts_with("hypothetical") or clause.before("hypothetical", *events)


def _windows(
    tokens: Sequence[str], generic: Sequence[str], start: int, size: int
) -> Iterable[tuple[str, ...]]:
    exact = tuple(tokens[start : start + size])
    yield exact
    general = tuple(generic[start : start + size])
    if general != exact:
        yield general
