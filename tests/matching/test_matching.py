"""The matcher answers what the FAQ covers and knows when it does not know."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.faq.knowledge import LANGUAGES, Knowledge
from bot.faq.loader import load_knowledge
from bot.matching.matcher import Matcher, Thresholds
from tests.conftest import ASK_JSON_KEYS, FAQ_DIR

# (question, entry that must answer it, or None when the FAQ must not answer)
CASES: list[tuple[str, str | None]] = [
    ("sb54?", "california-sb54"),
    ("lapd ice", "police-and-deportations"),
    ("Can the LAPD work with la migra??", "police-and-deportations"),
    ("will the city give my information to ICE", "city-data-sharing"),
    ("iz LA a santuary citty", "is-la-sanctuary-city"),
    ("porque aprobaron la ley santuario", "why-la-passed-the-law"),
    ("who does the sanctuary ordinance protect?", "who-is-protected"),
    ("can the LA police hand my cousin over to ICE?", "police-and-deportations"),
    ("what do the critics of the law say", "reactions-to-the-law"),
    ("QUE ES LA SB 54", "california-sb54"),
    # The article's own heading, "Key Provisions of the New Law"; and what it says about ICE.
    ("What are the key provisions?", "la-law-approved"),
    ("¿Cuáles son los puntos clave de la ley?", "la-law-approved"),
    ("What does the article say about ICE?", "city-data-sharing"),
    ("¿Qué dice el artículo de ICE?", "city-data-sharing"),
    ("Does New York have a sanctuary law?", None),
    ("Is Chicago a sanctuary city?", None),
    ("How do I get a green card?", None),
    ("Can I renew DACA?", None),
    ("What is asylum?", None),
    ("¿Cuánto cuesta una visa?", None),
    ("hello", None),
    ("hola buenas", None),
    ("asdkjh qwpoe zzxq", None),
    ("🙂🙂🙂", None),
    ("", None),
    ("ice", None),
    # A person's own case: no article says what will happen to someone.
    ("no tengo papeles, la ley me protege?", None),
    ("¿me pueden deportar aunque también soy indocumentado?", None),
    ("can I be deported if I overstayed my visa?", None),
    ("am I safe in LA?", None),
    ("I have a deportation order, can they take me from my home?", None),
    ("what should I do if ICE comes to my house", None),
    # Facts the article does not give, on topics it covers.
    ("when does the sanctuary ordinance take effect?", None),
    ("who signed SB 54 into law?", None),
    ("how many council members voted for it", None),
    ("does the law have exceptions for people with serious crimes?", None),
    ("can ICE come into my home in Los Angeles?", None),
    ("can the police ask for my papers?", None),
    ("does the county sheriff share data with ICE?", None),
    ("what is a sanctuary city?", None),
    ("will LA lose federal funding?", None),
]


@pytest.mark.parametrize(("question", "expected"), CASES)
def test_match_table(matcher: Matcher, question: str, expected: str | None) -> None:
    result = matcher.match(question)
    if expected is None:
        assert result.outcome != "answer", result
    else:
        assert (result.outcome, result.entry_id) == ("answer", expected), result


@pytest.mark.parametrize(
    "question",
    ["I want to talk to a lawyer", "can someone call me back", "quiero una cita", "llamenme"],
)
def test_booking_intent(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert result.intent == "book"
    assert (result.outcome, result.entry_id) == ("answer", "book-consultation")


def test_questions_about_the_law_are_not_booking(matcher: Matcher) -> None:
    for question in ("are you a lawyer?", "what does SB 54 do", "who is protected"):
        assert matcher.match(question).intent is None


def test_spanish_question_gets_spanish_even_with_english_hint(matcher: Matcher) -> None:
    result = matcher.match("¿La policía de Los Ángeles ayuda a la migra?", "en")
    assert result.language == "es"
    assert result.entry_id == "police-and-deportations"


def test_ambiguous_question_suggests_distinct_entries(matcher: Matcher) -> None:
    result = matcher.match("ice")
    assert result.outcome == "suggest"
    ids = [suggestion.entry_id for suggestion in result.suggestions]
    assert 1 <= len(ids) <= 3
    assert len(set(ids)) == len(ids)


def test_named_other_place_is_not_the_entry_question(matcher: Matcher) -> None:
    result = matcher.match("is san diego a sanctuary city")
    assert result.outcome == "fallback"
    assert result.reason == "not-covered"


def test_thresholds_are_keyword_only_and_used(knowledge: Knowledge) -> None:
    strict = Matcher(knowledge, thresholds=Thresholds(answer=101.0, suggest=101.0))
    assert strict.match("sb54?").outcome == "fallback"


def test_json_shape(matcher: Matcher) -> None:
    shape = matcher.match("sb54?").to_json()
    assert list(shape) == ASK_JSON_KEYS
    assert shape["urgent"] is False
    assert matcher.match("ICE is outside my door right now").to_json()["urgent"] is True


@pytest.mark.parametrize(
    "message",
    [
        "ICE just took my husband",
        "la migra se llevó a mi hermano esta mañana",
        "there are immigration agents outside my house",
        "hay agentes de inmigración en la puerta",
        "they are raiding my work right now",
        "tengo corte de inmigración mañana y no tengo abogado",
        "my ICE check-in is on Monday",
        "mi esposo está en el corralón",
        "LA MIGRA ESTA AFUERA",
        "la migra se acaba de llevar a mi esposo afuera de la casa",
        # Other ways of saying it: handcuffed, put in a van, hand him over, called from
        # detention, followed, the agents at the school's pickup line.
        "ICE handcuffed my neighbor in front of everybody",
        "la migra esposó a mi primo hace rato",
        "se cargaron al vecino ahorita",
        "mi hermano está llamando desde detención",
        "lo van a entregar a inmigración mañana temprano",
        "they're following our car, i think it's ICE",
        "ICE agents in the pickup line at my kids school",
        # Knocking while the person asks whether to open, or hiding; a police stop right now;
        # a hearing days away with no lawyer.
        "someone is knocking, they say police, do I open?",
        "estamos escondidos en el cuarto, siguen tocando",
        "the sheriff has me pulled over right now and another car is coming",
        "me paró la policía ahorita y me piden papeles",
        "immigration court on friday and my lawyer dropped me",
        "hearing in 3 days, just got the letter",
        "the police pulled me over and an ICE truck is behind them now",
        "estan tocando la puerta, dicen que son de inmigracion",
        # Immigration agents stopping a car this moment.
        "ice just pulled us over on the freeway, they want papers",
        "la migra nos acaba de parar en la troca",
        # Agents there this very moment, someone held where they are, a door being pushed.
        "migra en la bodega ahorita mismo",
        "two agents at the clinic front desk right now asking for a patient",
        "los de inmigración no lo dejan ir a mi tío, lo tienen en la esquina",
        "ya llegaron, están empujando la puerta",
        # Voice-typed without a stop: the rumour first, then what is happening now.
        "quería saber si la ley protege a la gente el caso es que ahorita la migra está "
        "tocando en mi casa",
        # A danger to life with agents there; someone about to be moved.
        "mi tía se desmayó y hay agentes en el edificio",
        "van a mover a mi primo a otro estado, lo van a trasladar mañana",
        "they're taking my neighbor, his kids are alone in the apartment",
        "unos hombres con chalecos de ICE están golpeando la puerta",
        "ICE arrested my dad once he got to work",
        # A story of years ago, then what happens today.
        "I came from Manila twelve years ago. ICE took my wife from the bus stop this morning",
        # A check-in days away, whatever happened to a friend last week; a misspelt "agarró".
        "My cousin has his ICE check-in this Monday and his friend who went last week was "
        "detained on the spot.",
        "migra agaro mi hermano hoy en la mañana en la esquina del home depot",
        # A dream told first does not hide what is happening this very moment.
        "anoche soñé con la migra y ahorita mismo están tocando la puerta, dicen que son de ICE",
        # People being taken this very moment, whoever takes them.
        "están deteniendo gente en el Home Depot ahorita, yo estoy adentro",
    ],
)
def test_a_crisis_that_asks_nothing_else_is_urgent_and_not_answered_from_an_entry(
    matcher: Matcher, message: str
) -> None:
    result = matcher.match(message)
    assert result.urgent, result
    assert result.outcome != "answer"


@pytest.mark.parametrize(
    ("message", "entry"),
    [
        ("ICE at my work, LAPD helps them?", "police-and-deportations"),
        (
            "ICE trucks outside my job RIGHT NOW in Van Nuys and there's LAPD cars too. are "
            "the police allowed to help them??",
            "police-and-deportations",
        ),
        ("detuvieron a mi concuño. qué es SB54?", "california-sb54"),
        (
            "se llevaron a mi hijo esta mañana en el trabajo, a qué número llamo??",
            "contact-the-firm",
        ),
    ],
)
def test_a_crisis_with_a_question_the_article_answers_is_urgent_and_answered(
    matcher: Matcher, message: str, entry: str
) -> None:
    result = matcher.match(message)
    assert result.urgent, result
    assert (result.outcome, result.entry_id) == ("answer", entry), result


@pytest.mark.parametrize(
    "message",
    [
        "My husband has his ICE check-in this Thursday and he's scared they'll keep him. Will "
        "the sanctuary law protect him?",
        "Agarraron a mi hermano ayer afuera del Home Depot. ¿Lo van a deportar? ¿La ley no lo "
        "protegía?",
        "My brother is at Adelanto and the officer told him he will be put on a flight "
        "tomorrow. Please help us, what can we do today?",
        "ICE just took my husband",
    ],
)
def test_a_crisis_that_asks_what_becomes_of_its_people_is_not_answered(
    matcher: Matcher, message: str
) -> None:
    result = matcher.match(message)
    assert result.urgent, result
    assert result.outcome != "answer", result


@pytest.mark.parametrize(
    "message",
    [
        "my uncle was deported in 2015, is LA a sanctuary city?",
        "what happens if ICE comes to my door?",
        "what is a detention center",
        "qué es el corralón",
        "I want to book a consultation for next week",
        "I saw on the news that ICE arrested people in Texas",
        "my dad is having a heart attack",
        "can the LAPD help ICE with raids?",
        "just asking, my cousin was detained by ICE last year, can he still appeal?",
        "la redada del año pasado en el swap meet fue legal?",
        "dicen que la migra agarra a la gente en la calle, es cierto?",
        "no ha pasado nada pero tengo miedo de que la migra llegue a la fábrica",
        "what should I do if ICE knocks on my door?",
        "my cousin got pulled over yesterday, can the police ask about his status?",
        "si me para la policía ahorita, me pueden entregar a la migra?",
        "the city council hearing is tomorrow, will they vote on the law?",
        "my coworker was detained two weeks ago, does LA tell ICE where we live?",
        "a mi compadre lo agarraron la semana pasada, la policía trabaja con la migra?",
        # A news story watched, and agents who came years ago and took no one.
        "last night I watched a news story about a mom in Chicago who was detained at school",
        "agents came near our church in 2018, but it was resolved and nobody was taken",
        # A story set in the past stays there, sentence after sentence.
        "A few months ago agents came to the warehouse. They took two men in a van. Can the "
        "city tell ICE about us?",
        "Hace un año se llevaron a mi cuñado. Ahora vive en Guatemala y quiere saber si la "
        "ciudad pasa datos a ICE.",
        "Two years ago my dad collapsed at work and ICE agents came to the hospital. Can the "
        "city tell them anything?",
        "I keep having nightmares that they take my husband. Is LA still a sanctuary city?",
        "Una vez, hace años, la migra se llevó a mi tío. ¿La policía les ayuda?",
        # Someone else says agents are somewhere; the city asked about now; a drill.
        "my cousin's group chat says ICE is at the swap meet right now, is that legal?",
        "does the city share information with ICE now?",
        "raids downtown rn?? someone posted it",
        "en la escuela vamos a simular que la migra está en la puerta, para practicar",
        "Yesterday someone knocked and I hid, but it was a delivery. What do I do next time?",
        # A dream, a role play in class.
        "anoche soñé que la migra entró a mi cuarto y se llevó a mi hija. es sueño nomás",
        "hoy en clase hicimos un role play de una detención de ICE, a mí me tocó ser la persona "
        "detenida",
        # A taking still to come, heard of; held for months; two weeks ago.
        "mi hijo tiene miedo porque en la escuela dicen que la migra se va a llevar a los papás",
        "my mom has been in detention since august, her next court date is in january",
        "la semana antepasada se llevaron a un señor de mi trabajo, desde ese día no duermo",
        # What people say happens whenever agents come is a habit, not a scene.
        "aqui en la esquina los compas dicen que cuando llega la migra la policia viene atras "
        "cuidandolos. la neta los de lapd ayudan a la migra o no",
    ],
)
def test_look_alikes_are_not_a_crisis(matcher: Matcher, message: str) -> None:
    assert not matcher.match(message).urgent


def test_a_medical_emergency_is_read_as_one(matcher: Matcher) -> None:
    result = matcher.match("mi hijo no respira")
    assert result.medical
    assert not result.urgent


@pytest.mark.parametrize(
    "message",
    [
        "ocupo un abogado",
        "me pueden marcar mañana?",
        "necesito hablar con un lawyer",
        "kiero ablar con alguien",
        # Someone else wants the consultation.
        "mi papá quiere una consulta con un abogado",
        # "Sacar cita" without "una"; "yamar" written as it sounds.
        "como hago para sacar cita con la licenciada",
        "porfa alguien de la oficina me puede yamar",
        # A reporter asking for one of the firm's lawyers.
        "could i interview one of your attorneys for my article? my deadline is friday",
        "¿puedo entrevistar a un abogado de ustedes para mi programa de radio?",
    ],
)
def test_colloquial_requests_for_a_person(matcher: Matcher, message: str) -> None:
    assert matcher.match(message).intent == "book"


def _phrasings(knowledge: Knowledge) -> list[tuple[str, str]]:
    return [
        (text, entry.id)
        for entry in knowledge.entries.values()
        for language in LANGUAGES
        for text in (entry.text(language).question, *entry.text(language).phrasings)
    ]


def test_every_phrasing_finds_its_own_entry(knowledge: Knowledge, matcher: Matcher) -> None:
    wrong = []
    for text, entry_id in _phrasings(knowledge):
        result = matcher.match(text)
        if result.intent == "book" and knowledge.entries[entry_id].intent == "book":
            continue
        found = {result.entry_id, *(s.entry_id for s in result.suggestions)}
        if entry_id not in found:
            wrong.append((text, entry_id, result.outcome, result.entry_id))
    assert wrong == []


# Hypothesis tests use module-level objects: fixtures would be printed in failure reports.
KNOWLEDGE = load_knowledge(FAQ_DIR)
MATCHER = Matcher(KNOWLEDGE)
PHRASINGS = _phrasings(KNOWLEDGE)
VARIANTS = [str.upper, str.lower, lambda text: f"  {text} ?? 🙏", lambda text: text + "..."]


@settings(max_examples=200)
@given(position=st.integers(0, len(PHRASINGS) - 1), variant=st.sampled_from(VARIANTS))
def test_phrasing_in_other_case_and_punctuation_finds_its_entry(
    position: int, variant: Callable[[str], str]
) -> None:
    text, entry_id = PHRASINGS[position]
    result = MATCHER.match(variant(text))
    if KNOWLEDGE.entries[entry_id].intent == "book" and result.intent == "book":
        return
    assert entry_id in {result.entry_id, *(s.entry_id for s in result.suggestions)}


@settings(max_examples=300)
@given(text=st.text(max_size=300))
def test_any_text_gets_a_valid_decision(text: str) -> None:
    result = MATCHER.match(text)
    assert result.outcome in ("answer", "suggest", "fallback")
    assert result.language in LANGUAGES
    assert len(result.suggestions) <= 3
    if result.outcome == "answer":
        assert result.entry_id is not None


# What the question sentences ask decides; the story around them does not (issue "Reading").
@pytest.mark.parametrize(
    ("question", "outcome", "entry", "urgent"),
    [
        (
            "Hi! I do landscaping in the Valley, three kids, and my wife worries every time we "
            "see a patrol car. Can the city police help ICE now or not?",
            "answer",
            "police-and-deportations",
            False,
        ),
        (
            "Saw a video of a raid in Texas on the news last night. Will LA cooperate with "
            "Trump's mass deportations?",
            "answer",
            "mass-deportations",
            False,
        ),
        (
            "Hello, I am from Iran, living in Westwood 3 years. I read that Trump say he will "
            "use the military. Is this the reason Los Angeles made the new law?",
            "answer",
            "why-la-passed-the-law",
            False,
        ),
        ("help", "fallback", None, False),
        ("ayuda", "fallback", None, False),
        ("tengo miedo", "fallback", None, False),
        ("i'm scared", "fallback", None, False),
        ("what can you help me with", "answer", "what-can-this-bot-do", False),
        ("Does the law stop ICE from arresting people in LA?", "suggest", None, False),
        ("my husband collapsed and isn't breathing", "fallback", None, False),
        (
            "안녕하세요. LA의 새 이민자 보호 도시 법에 대해 질문이 있습니다.",
            "fallback",
            None,
            False,
        ),
    ],
)
def test_the_question_not_the_story(
    matcher: Matcher, question: str, outcome: str, entry: str | None, urgent: bool
) -> None:
    result = matcher.match(question)
    assert result.outcome == outcome
    if entry is not None:
        assert result.entry_id == entry
    assert result.urgent is urgent


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("help", "distress"),
        ("tengo miedo, ayúdenme", "distress"),
        ("my husband collapsed and isn't breathing", "medical"),
        ("Здравствуйте, моего брата вчера задержали. Что нам делать?", "other-language"),
        (
            "Xin chào, luật thành phố trú ẩn mới ở Los Angeles có bảo vệ người không?",
            "other-language",
        ),
        (
            "Magandang araw po. Gusto ko lang pong malaman kung protektado ba ang mga walang",
            "other-language",
        ),
        ("am I safe?", "personal"),
        ("¿estoy seguro?", "personal"),
        # Whether agents will take one's family is an outcome, not what the city does.
        ("I'm afraid ICE will take my mom", "personal"),
        ("Will this law protect her from getting deported?", "personal"),
        ("tengo una orden de deportación de hace años, ¿ya no me pueden sacar?", "personal"),
        ("¿se pueden llevar a mi esposo aunque la ciudad sea santuario?", "personal"),
        # A story's case or place counts when the question points back at it.
        (
            "Mi esposo tiene una orden de deportación. ¿La ley de la ciudad lo protege?",
            "personal",
        ),
        (
            "Vivo en el Este de Los Ángeles, en el condado, no en la ciudad. ¿Me aplica esta ley?",
            "not-covered",
        ),
        # Unpaid wages are not what the article is about, whoever asks.
        (
            "un contratista no me pagó tres días, ¿a dónde puedo ir a reclamar si no tengo "
            "papeles?",
            "not-covered",
        ),
    ],
)
def test_reading_reasons(matcher: Matcher, question: str, reason: str) -> None:
    result = matcher.match(question)
    assert result.outcome != "answer"
    assert result.reason == reason


def test_danger_to_life_with_agents_outside_is_medical_and_urgent(matcher: Matcher) -> None:
    result = matcher.match("my husband collapsed and isn't breathing, ICE is outside")
    assert result.medical
    assert result.urgent


@pytest.mark.parametrize(
    ("question", "outcome", "entry", "reason"),
    [
        # A number of the law is not the firm's phone ("law office" names the firm).
        ("what's the ordinance number?", "suggest", "contact-the-firm", "not-stated"),
        ("how can i call the law office", "answer", "contact-the-firm", "matched"),
        # The firm's email, website or phone asked inside a sentence: the contact answer.
        (
            "do you guys have an email so I can send some documents?",
            "answer",
            "contact-the-firm",
            "channel",
        ),
        (
            "my English is not good, what number I can call the office?",
            "answer",
            "contact-the-firm",
            "channel",
        ),
        # Asking the way to a booking: the firm's ways in answer it, and the booking starts.
        ("can I request a consultation on your website?", "answer", "contact-the-firm", "the-way"),
        ("how do i schedule a consultation?", "answer", "contact-the-firm", "the-way"),
        ("quiero una consulta, ¿cómo le hago?", "answer", "contact-the-firm", "the-way"),
        ("se puede pedir la consulta por internet?", "answer", "contact-the-firm", "channel"),
        # A booking that gives the person's own phone asks for no phone of the firm's.
        (
            "Kindly book me a consultation. Name: Ana Ruiz. Phone 310-555-0148",
            "answer",
            "book-consultation",
            "intent",
        ),
        # Something else done online is not the firm's website.
        ("how to apply for citizenship online", "fallback", None, "not-covered"),
        # Two questions: the one the best entry states is answered, the other is pointed to.
        (
            "What's the reason behind the new sanctuary ordinance, and when was it passed?",
            "answer",
            "why-la-passed-the-law",
            "in-part",
        ),
        # One fact the article does not give stays a near miss.
        # The first question is answered; the reply says the article does not say the second.
        (
            "what does the law do and when does it take effect?",
            "answer",
            "la-law-approved",
            "matched",
        ),
    ],
)
def test_what_is_asked_inside_a_message(
    matcher: Matcher, question: str, outcome: str, entry: str | None, reason: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id, result.reason) == (outcome, entry, reason)
    assert (result.intent == "book") == (reason in ("the-way", "intent"))


@pytest.mark.parametrize(
    "question",
    [
        "pueden hablarme por telefono mañana? es sobre mi caso",
        "I want to book a consultation",
        "can someone call me at this phone number?",
        # The person's own email, given with the request, is not a question for the firm's.
        "book me a consultation pls. email is ana.lopez@example.com",
        # A question about the consultation beside a wish to make one.
        "¿la consulta puede ser por teléfono? quiero hacer una cita, no tengo carro",
        "is there someone I can speak to this week?",
        "me pueden regresar la llamada? marqué y nadie contestó",
        "Mi tía nunca ha hablado con un abogado. ¿Le pueden dar una consulta?",
        # For someone else; to take or look at a case; to be seen.
        "could one of your lawyers call my mother? she only speaks Tagalog",
        "quiero que me asesoren con lo de mi permiso",
        "busco quien me lleve el caso de mi papá",
        "¿cuándo me pueden atender?",
        "quiero agendar para mi abuelo que no sabe usar el teléfono",
        "please have someone reach out to my husband",
        "Can y'all call my neighbor? She only speaks Spanish. Doña Carmen, best after 6pm.",
        # Taglish is read as English.
        "can i book po a consultation this sunday? sunday lang kasi day off ko. salamat po",
    ],
)
def test_asking_to_be_called_is_still_a_booking(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).intent == "book"


@pytest.mark.parametrize(
    ("question", "first", "second"),
    [
        (
            "What prompted the city to pass the law, and when was it passed?",
            "why-la-passed-the-law",
            "la-law-approved",
        ),
        (
            "¿Qué es exactamente la SB 54 y qué le prohíbe a la policía local?",
            "california-sb54",
            "police-and-deportations",
        ),
    ],
)
def test_answered_in_part_offers_the_other_questions_entry(
    matcher: Matcher, question: str, first: str, second: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.reason) == ("answer", "in-part")
    shown = {result.entry_id, *(suggestion.entry_id for suggestion in result.suggestions)}
    assert {first, second} <= shown


@pytest.mark.parametrize(
    ("question", "intent", "entry"),
    [
        ("how much is a consultation", None, "firm-fees-and-office"),
        ("cuanto cuesta una consulta", None, "firm-fees-and-office"),
        ("how much does it cost and where is your office", None, "firm-fees-and-office"),
        # The consultation it is the cost of, named before the cost; a place beside it.
        ("what does a consultation cost", None, "firm-fees-and-office"),
        (
            "How much do you charge for a consultation and where is your office located?",
            None,
            "firm-fees-and-office",
        ),
        ("what does a consultation cost? I want to book one", "book", "book-consultation"),
        ("how much for a consult and can i get one this week", "book", "book-consultation"),
        ("cuanto cobran la consulta quiero una cita", "book", "book-consultation"),
        ("oiga y cuanto cobran por la consulta? quisiera sacar cita", "book", "book-consultation"),
    ],
)
def test_a_question_about_the_cost_is_a_booking_only_when_it_also_asks_for_one(
    matcher: Matcher, question: str, intent: str | None, entry: str
) -> None:
    result = matcher.match(question)
    # The fees entry says that the article gives no fees: shown, but not counted as answered.
    outcome = "answer" if intent else "fallback"
    assert (result.intent, result.outcome, result.entry_id) == (intent, outcome, entry)


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("does this protect people whose visa expired?", "who-is-protected"),
        ("¿la ley es solo para los que tienen DACA?", "who-is-protected"),
        ("are people who overstayed a visa covered too?", "who-is-protected"),
        ("it's only for people with work permits, right?", "who-is-protected"),
        ("is the law only for green card holders?", "who-is-protected"),
        (
            "I am a deacon at a church on Western Ave. Many members have no papers and ask me "
            "every Sunday. What does this law mean for them?",
            "what-it-means-for-immigrants",
        ),
        (
            "Someone at church said the council passed it because of a crime wave downtown. "
            "That doesn't sound right to me, what was the actual reason?",
            "why-la-passed-the-law",
        ),
        ("how do I get a green card?", None),
        ("¿la visa U protege a mi esposa?", None),
        ("does the law help me get a work permit?", None),
        ("My uncle lives in Glendale. Does the LA law protect him there?", None),
    ],
)
def test_a_status_or_a_day_in_the_story_is_not_what_is_asked(
    matcher: Matcher, question: str, entry: str | None
) -> None:
    """A status says whom "is it only for…?" asks about; a story's Sunday is only a story."""
    result = matcher.match(question)
    if entry is None:
        assert result.outcome != "answer"
    else:
        assert (result.outcome, result.entry_id) == ("answer", entry)


@pytest.mark.parametrize(
    ("message", "urgent"),
    [
        ("hay agentes de ICE en la entrada de la fábrica AHORITA, ¿necesitan orden?", True),
        ("there are immigration agents at the factory where i work right now", True),
        ("migración se llevó mi esposo hoy en la mañana, quiero hablar con abogado", True),
        ("my mom's ICE appointment is this Monday and we need a lawyer before that", True),
        ("my dad collapsed when the raid started, hes not breathing right", True),
        (
            "Vendo tamales afuera de una estación del Metro y me dijeron que la ciudad te pide "
            "tus datos y luego se los pasa a inmigración. ¿Es cierto?",
            False,
        ),
        (
            "Mire, en el barrio andan diciendo que la LAPD va a andar junto con inmigración "
            "levantando gente. ¿Será cierto o es puro cuento?",
            False,
        ),
        ("I'm writing a short story where a character gets detained by ICE.", False),
        ("Estoy viendo en la tele una redada en Texas ahorita mismo, qué miedo.", False),
        ("I was deported before, in 2012. Is LA a sanctuary city?", False),
        # How long something has gone on is not when it happened.
        (
            "mañana a las 8am tengo mi audiencia en la corte de inmigracion y mi abogado dejo "
            "de contestar desde hace una semana. tengo que ir solo?",
            True,
        ),
        # A reason is its own clause: "puede" of breathing does not make the arrest a "could".
        (
            "mi abuelita no puede respirar bien porque le hablaron que agarraron a mi tio hace "
            "rato en el swap meet. Que hago?",
            True,
        ),
        (
            "I am driving right now and a car has been behind me for 20 minutes. It has "
            "government plates and now it is flashing lights at me. Should I pull over??",
            True,
        ),
        (
            "We held a Know Your Rights drill after service today, role-playing agents knocking "
            "at the door. Just sharing.",
            False,
        ),
        # "Ahora trabajo en otro lugar" says it is now, but not that the past is.
        (
            "Hace un año en mi trabajo vino inmigración y se llevó a unos compañeros. Yo me "
            "escondí y no me agarraron. Ahora trabajo en otro lugar. ¿Tienen mi nombre?",
            False,
        ),
        ("a mi comadre la agarraron hace como seis meses. ya la deportaron.", False),
        # People being taken where the writer is, said as it happens, whoever is named.
        ("van outside my job. they taking people", True),
        ("they're taking people at the car wash right now", True),
        ("estan agarrando gente afuera de la fabrica ahorita", True),
        ("my group chat says they are grabbing people at the swap meet", False),
        ("last week they were taking people at the car wash", False),
        # As people type it: "yevaron", "detension", the past in the present with its
        # morning, hiding "since one hour", agents across from the gate or standing over
        # someone hurt.
        ("se la yevaron a mi tia hace rato", True),
        ("They take her this morning in front of the laundromat, please help", True),
        ("mi primo me hablo de detension, dice que lo van a mandar", True),
        ("tengo cita en ICE mañana y no tengo abogado", True),
        ("tengo cita en ICE en marzo, que llevo?", False),
        ("ICE truck parked across from our building since 6am", True),
        ("my dishwasher hide from ICE in back room since one hour, they still in front", True),
        ("how do I hide from ICE if they come?", False),
        (
            "a man fell from the roof running from ICE, bone sticking out, agents standing "
            "over him",
            True,
        ),
        ("my son broke his leg, can the hospital ask for papers?", False),
        # What the police would help agents do is a question; a taking this morning is not.
        ("policia de los angeles ayuda a la migra agarrar gente?", False),
        ("la policia ayudo a la migra a agarrar a mi hermano esta mañana", True),
        # A prior deportation sets the story in the past; agents at the door now do not.
        ("Tengo deportación previa del 2015, me agarraron en Texas y me sacaron.", False),
        ("tengo una deportacion previa y ahorita la migra esta en la puerta", True),
        # What happens "every time" is a habit, not this moment.
        ("cada vez que oigo un carro afuera pienso que es la migra", False),
        ("every time a car parks outside I think it's ICE", False),
        # "Just take" is the past said in the present; someone asked for by name is at the door.
        ("they just take my husband outside the Home Depot", True),
        ("do they just take my information and keep it?", False),
        ("two men are at the gate asking for her by name and she is inside with the baby", True),
        # "Sí, mire": a "yes" to the listener, not an "if".
        (
            "hola hola si mire están aquí afuera de la casa de mi mamá unos de inmigración y no "
            "quieren irse qué hacemos",
            True,
        ),
    ],
)
def test_a_crisis_is_where_the_agents_are_now(
    matcher: Matcher, message: str, urgent: bool
) -> None:
    """Agents near where they are, now; a rumour, a story or the TV is not a crisis."""
    assert matcher.match(message).urgent is urgent


@pytest.mark.parametrize(
    "question",
    [
        "how is the law enforced in practice?",
        "what happens in practice if police call ICE anyway?",
    ],
)
def test_how_the_law_works_in_practice_is_not_answered(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).outcome != "answer"


@pytest.mark.parametrize(
    ("question", "gap", "first"),
    [
        ("when does the ordinance take effect?", "take_effect", "la-law-approved"),
        ("¿cuándo entra en vigor la ley?", "take_effect", "la-law-approved"),
        ("does this apply to the LA County Sheriff too?", "county", "police-and-deportations"),
        ("are there exceptions for people with a criminal record?", "exceptions", None),
        ("who signed it, the mayor?", "approval", "la-law-approved"),
        ("So does this mean ICE can't arrest anyone in LA anymore?", "ice_actions", None),
        # The agents after the verb, as Spanish often puts them.
        ("¿Entonces qué puede hacer ICE todavía en la ciudad?", "ice_actions", None),
        ("what can ICE still do in LA?", "ice_actions", None),
        (
            "what ICE can do in LA now? they still can come in restaurant kitchen?",
            "ice_actions",
            None,
        ),
        (
            "does the law stop ICE from doing worksite audits at businesses in LA?",
            "ice_actions",
            None,
        ),
        # The law's bar on sharing says nothing of a court's order.
        (
            "can the city give my data to ICE if they have a court order?",
            "exceptions",
            "who-is-protected",
        ),
        ("¿la ciudad le da mis datos a migración si hay una orden judicial?", "exceptions", None),
        # A second question that asks the first again is not answered on its own.
        (
            "Can the sheriff help ICE? Does the new city law say anything about that?",
            "county",
            "police-and-deportations",
        ),
        (
            "Si vienen agentes de ICE, ¿pueden entrar a los pasillos sin orden judicial? ¿La "
            "nueva ley de la ciudad dice algo de eso?",
            "exceptions",
            None,
        ),
    ],
)
def test_what_the_article_does_not_say_is_named(
    matcher: Matcher, question: str, gap: str, first: str | None
) -> None:
    """A fact the article does not give, on a topic it covers: named, with its nearest entries."""
    result = matcher.match(question)
    assert result.outcome != "answer"
    assert result.gap == gap
    if first is not None:
        assert result.suggestions[0].entry_id == first


@pytest.mark.parametrize(
    "question",
    [
        "did the mayor pass this or was it the city council?",
        "¿la aprobó el concejo o la alcaldesa?",
        "who approved it, the mayor or who?",
    ],
)
def test_alternatives_of_which_the_article_names_one_are_answered(
    matcher: Matcher, question: str
) -> None:
    """The article says the council approved it; what it does not say of the mayor follows."""
    result = matcher.match(question)
    assert (result.outcome, result.entry_id, result.gap) == (
        "answer",
        "la-law-approved",
        "approval",
    )


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("does the city ordinance go beyond SB 54?", "mass-deportations"),
        ("¿la ley de la ciudad refuerza la SB 54?", "mass-deportations"),
        ("can the police still help ICE?", "police-and-deportations"),
        ("¿LA sigue siendo santuario?", "is-la-sanctuary-city"),
        # A wrong year is corrected by the entry that gives the date.
        ("es verdad que la ley la aprobaron en 2017?", "la-law-approved"),
        # "Something called SB 54" names it; "called" is not a phone call, nor "la nota" news.
        ("¿qué es eso del SB 54 que mencionan en la nota?", "california-sb54"),
        ("que es eso del sb 54 que dice ahi signo de interrogacion", "california-sb54"),
        # Taglish is read as the English it mostly is.
        (
            "hello po, what can u help me with ba? first time ko gumamit nito",
            "what-can-this-bot-do",
        ),
        (
            "some people say this law is bad for safety. what they worry exactly?",
            "reactions-to-the-law",
        ),
        ("quienes apoyaron la ley nueva", "reactions-to-the-law"),
        # How a question is put is not what it asks.
        ("why did city council decide this", "why-la-passed-the-law"),
        ("what prompted it in the first place", "why-la-passed-the-law"),
        ("why'd the council even do this? was it a reaction to trump", "why-la-passed-the-law"),
        # Taglish whose English words carry the question.
        ("pag nag mass deportation si Trump, hindi tutulong ang LA? tama ba", "mass-deportations"),
        ("So yung city hindi magbibigay ng data sa immigration?", "city-data-sharing"),
        # A question asking what the critics say is not a check of the story's claim.
        (
            "vi comentarios de gente enojada con esa ley, decían que los federales ya no van a "
            "poder trabajar con la policía. ¿Qué es lo que dicen los que están en contra?",
            "reactions-to-the-law",
        ),
        (
            "entonces que cambia para nosotros los que trabajamos aqui?",
            "what-it-means-for-immigrants",
        ),
        # The city's data, not this chat's, when the message names the city and not the chat.
        (
            "la ciudad tiene datos de uno, por ejemplo cuando saqué la tarjeta de la "
            "biblioteca. ¿Eso lo comparten con los federales de inmigración?",
            "city-data-sharing",
        ),
        # A condition led into with "entonces" sets the scene of the question after it.
        (
            "Entonces, si el gobierno federal hace esas deportaciones masivas que dice, ¿la "
            "ciudad va a ayudar o no va a ayudar?",
            "mass-deportations",
        ),
        # A question answered on its own is not blurred by the claim it checks.
        (
            "mi primo dice que la ley nueva de la ciudad es nomas para los que tienen papel de "
            "trabajo. nosotros no tenemos ningun papel. la ley es tambien para nosotros o no es?",
            "who-is-protected",
        ),
        (
            "Mi vecina es de Honduras. ¿Esta ley de Los Ángeles la protege a ella aunque no tenga "
            "ningún documento?",
            "who-is-protected",
        ),
        # About this chat, whatever else it names.
        (
            "si yo escribo aquí que tengo DACA eso se queda guardado? lo puede ver ICE??",
            "my-data-privacy",
        ),
    ],
)
def test_words_that_lean_toward_an_entry(matcher: Matcher, question: str, entry: str) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result


def test_a_gap_beside_an_answered_question_is_said_after_the_answer(matcher: Matcher) -> None:
    result = matcher.match("what does the law do and when does it take effect?")
    assert (result.outcome, result.entry_id, result.gap) == (
        "answer",
        "la-law-approved",
        "take_effect",
    )


def test_people_named_by_their_status_get_the_line_about_their_own_case(matcher: Matcher) -> None:
    """A personal framing is not a personal case: answered, with one line about one's case."""
    result = matcher.match("are people who overstayed a visa covered too?")
    assert (result.outcome, result.entry_id, result.reason) == (
        "answer",
        "who-is-protected",
        "framed",
    )


@pytest.mark.parametrize(
    "question",
    ["who approved the law?", "quién aprobó la ley?", "¿Quién aprobó la ley santuario?"],
)
def test_who_approved_it_is_the_approval(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id) == ("answer", "la-law-approved")


@pytest.mark.parametrize(
    ("question", "entry", "intent"),
    [
        ("are you a real person?", "what-can-this-bot-do", None),
        ("oye, ¿tú eres una persona o una máquina?", "what-can-this-bot-do", None),
        ("am i talking to a real person or a bot?", "what-can-this-bot-do", None),
        ("oiga usted es persona o maquina?", "what-can-this-bot-do", None),
        ("are you a real person? I want to talk to a lawyer", "book-consultation", "book"),
        ("can i talk to a real person", "book-consultation", "book"),
    ],
)
def test_asking_what_the_assistant_is_is_not_asking_for_a_person(
    matcher: Matcher, question: str, entry: str, intent: str | None
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id, result.intent) == ("answer", entry, intent)


# Issue 13, reading: what a message asks, whatever surrounds it (examples written for these
# tests, not taken from any evaluation set).
@pytest.mark.parametrize(
    ("question", "entry"),
    [
        # Whom the law is for, asked as "is it for", "es para", in limited Spanish.
        ("is the new city law also for people with no papers?", "who-is-protected"),
        ("mi hermano no tiene papel, la ley de LA es para el tambien?", "who-is-protected"),
        # A self-introduction without a question mark is the story, not the question.
        (
            "yo hablo zapoteco, poquito español. la ley de la ciudad protege a los que no "
            "tenemos papeles o no",
            "who-is-protected",
        ),
        # A reason about oneself after the question is not what is asked.
        (
            "quiero saber si la ciudad le puede pasar mis datos a la migra porque yo fui a "
            "pagar una multa y me pidieron mi dirección",
            "city-data-sharing",
        ),
        # A question ending on "that" asks about the sentence before it.
        (
            "my uncle says the feds will get help from LA for the mass deportations. is that "
            "true or not",
            "mass-deportations",
        ),
        # City officials are the people who answered the critics, not the approval.
        ("after the critics spoke up, what did city officials answer?", "reactions-to-the-law"),
        ("who is in favor of the ordinance?", "reactions-to-the-law"),
        ("¿quiénes se quejan de la ordenanza?", "reactions-to-the-law"),
        # A "when" that sets the scene is not a question about a date.
        (
            "when people worried about security, how did the city's officials respond?",
            "reactions-to-the-law",
        ),
        (
            "according to the report, what led the city to pass the ordinance?",
            "why-la-passed-the-law",
        ),
        # The best score leaves "change" unstated; the entry on what the law means states it.
        (
            "in short, what does the ordinance change for immigrants who have no papers?",
            "what-it-means-for-immigrants",
        ),
        ("does the city pass our data on to the feds?", "city-data-sharing"),
        # An "if" about oneself, asking what the city does, is not one's own case.
        (
            "si llamo a la ciudad para pedir ayuda, ellos le dan mis datos a la migra?",
            "city-data-sharing",
        ),
        (
            "if I ask the city for help with something, will they share my information with ICE?",
            "city-data-sharing",
        ),
        # A question of a word or two goes on from the sentence before it.
        ("ley nueva de LA quien lo aprueba. cuando", "la-law-approved"),
        # A condition before an opening question mark is part of the question.
        (
            "Tengo dos cipotes y yo sin papeles. Si empiezan las deportaciones masivas que anda "
            "diciendo el presidente, ¿la ciudad les va a echar la mano a los federales o no?",
            "mass-deportations",
        ),
        # What a law means for someone is not what a word means.
        (
            "Television say new law. For old woman like me, what this law mean?",
            "what-it-means-for-immigrants",
        ),
        # What comes before a colon introduces the question.
        (
            "Reporter with a community paper here, confirming basics: which body approved the "
            "ordinance, and on what date?",
            "la-law-approved",
        ),
        # A check of what was just said reads it with the sentence before.
        (
            "Mi suegra dice que la ciudad le da todo a la migra. ¿Es cierto eso o con la ley ya "
            "no pueden compartir datos?",
            "city-data-sharing",
        ),
        (
            "My cousin says only LA is a sanctuary, not all of California. Who is right? "
            "Since when?",
            "california-sb54",
        ),
        # A question without a question mark, announced as one.
        (
            "Vivimos en Pico Union y los vecinos tienen miedo. Mi pregunta es si la policía de "
            "la ciudad puede ayudar a la migra con esta ley.",
            "police-and-deportations",
        ),
        # A question that names nothing goes with the sentence just before it, not the story.
        (
            "Doy clases en Pomona. Quiero contarles a mis alumnos qué dijeron los grupos de "
            "derechos humanos de la ley. ¿Usted sabe qué dijeron?",
            "reactions-to-the-law",
        ),
        # Where someone comes from is not where the question asks about.
        (
            "My coworker just moved here from Dallas. Does the LA law protect undocumented people "
            "like her?",
            "who-is-protected",
        ),
        # Someone's town in the story is not what "is that what the critics say?" asks about.
        (
            "My brother lives in Lancaster and keeps saying the law hurts security. Is that what "
            "the critics say?",
            "reactions-to-the-law",
        ),
        # The sentence a question points back at says its subject; its employees are the
        # story's, not what the answer must state.
        (
            "I own two taquerias in highland park with like 15 employees, most of them are "
            "basically family. with all the talk about mass deportations, is the city going to "
            "cooperate with that or not?",
            "mass-deportations",
        ),
        # A short question that repeats a claim of the story checks that claim.
        (
            "mi tio dice que igual van a hacer deportaciones masivas y que la ciudad va a ayudar "
            "a la migra. yo le dije que no pero no se bien. la ciudad va a ayudar o no?",
            "mass-deportations",
        ),
        # Who asks is not what is asked.
        (
            "hello. I am owner of small market in koreatown 20 years. many my customer is from "
            "mexico. they ask me, city give information to immigration? I want tell them correct",
            "city-data-sharing",
        ),
        # "In plain English", "me preguntó": how it is asked, not what.
        (
            "my neighbors keep talking about this ordinance. in plain english, why does it "
            "matter for the immigrant community?",
            "what-it-means-for-immigrants",
        ),
        (
            "Mi jefe tiene una fábrica de ropa. Me preguntó qué dice el artículo sobre el "
            "compromiso de la ciudad con los inmigrantes. ¿Qué le digo?",
            "what-it-means-for-immigrants",
        ),
        # Who made the law is who approved it; "the reporting" is the article's source, not a
        # misspelt "deporting"; the state's protection is what SB 54 stands for.
        ("who made this law?", "la-law-approved"),
        ("¿quién hizo esa ley?", "la-law-approved"),
        (
            "I'm fact-checking a piece for a community paper. Which outlet did you rely on for "
            "the reporting?",
            "news-source",
        ),
        ("and does California protect immigrants too?", "california-sb54"),
        # Information "passed to" someone is information shared; "sige" is a misspelt "sigue".
        (
            "If families from the church write to this chat, is their information passed to "
            "anyone?",
            "my-data-privacy",
        ),
        ("LA sige siendo santuario??", "is-la-sanctuary-city"),
        # What the law means "in practice" is what it means; how it is enforced is below.
        (
            "en la práctica, ¿qué significa esta ley para la gente como nosotros?",
            "what-it-means-for-immigrants",
        ),
        # Who reported a claim, and where, is the story; "cannot" is how the claim is put.
        (
            "En la junta de vecinos alguien dijo que California es estado santuario desde 2017. "
            "¿Es correcto?",
            "california-sb54",
        ),
        (
            "A lady at the bus stop on Vermont told me that the city cannot share data with ICE "
            "anymore. Is that right?",
            "city-data-sharing",
        ),
        # "A fin de cuentas" is how it is asked; "lo mismo que" compares two laws.
        (
            "a fin de cuentas que cambia para los vecinos que viven aqui?",
            "what-it-means-for-immigrants",
        ),
        ("¿la ley de la ciudad es lo mismo que la SB 54 o es aparte?", "california-sb54"),
        # "Sigue protegiendo", "seguimos siendo" ask whether LA still is what it was; "CA" is
        # California; "me para la policía" keeps the police it names.
        ("¿Es verdad que LA sigue protegiendo a los inmigrantes por ley?", "is-la-sanctuary-city"),
        ("seguimos siendo ciudad santuario o ya no?", "is-la-sanctuary-city"),
        ("CA ya era santuario antes de esta ley?", "california-sb54"),
        (
            "y si me para la policia por una luz fundida, ellos me entregan a la migra?",
            "police-and-deportations",
        ),
        # What the police may do to help is what the article states, however it is asked.
        ("¿la policía todavía puede ayudar a la migra?", "police-and-deportations"),
        # "Después de las elecciones", "for immigration purposes": how and when it is asked.
        ("¿LA sigue siendo ciudad santuario después de las elecciones?", "is-la-sanctuary-city"),
        (
            "does the city hand over resident info to the feds for immigration purposes?",
            "city-data-sharing",
        ),
        # Whether the law is for one nationality asks whom it protects.
        ("this law is only for mexican people or also for ethiopian?", "who-is-protected"),
        # "Yo misma" is who calls, not what is asked.
        (
            "me pasa el número de teléfono de ustedes para llamar yo misma por favor",
            "contact-the-firm",
        ),
        # People named by where they come from, or by having papers, are whom it covers; "lei"
        # is how a Brazilian writes "ley".
        ("esa lei es solo para latinos o tambien para los brasilenos?", "who-is-protected"),
        (
            "mi primo dice que esa ley solo protege a los que tienen papeles. es verdad?",
            "who-is-protected",
        ),
        # What the person will do with the answer ("so I can print it") is not what is asked.
        ("whats the firm's email so I can print it on our resource sheet", "contact-the-firm"),
    ],
)
def test_the_question_is_read_apart_from_its_story(
    matcher: Matcher, question: str, entry: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id) == ("answer", entry)


@pytest.mark.parametrize(
    "question",
    [
        "is the new law also for people like my grandma? she came on a tourist visa and stayed",
        "¿la ordenanza también es para gente como nosotros?",
        "does the law protect people like my parents or only citizens?",
        # The writer set beside others the law may cover asks whom it covers.
        "my visa finish long time. this law protect me also or only people with green card?",
        "¿Esta ley nueva me protege a mí también o es nada más para los jóvenes?",
        # ...and so does the writer who names a status the law may cover.
        "sin papeles también me protege esa ley?",
        "does this protect me too? I am undocumented",
        # A status a story gives is whom the question asks about.
        "la ley protege tambien si el asilo esta pendiente?",
        "does the law also protect people whose asylum is pending?",
        "does it cover people with pending cases, like a relative waiting on asylum?",
    ],
)
def test_a_personal_framing_of_whom_the_law_covers_is_answered_with_the_line(
    matcher: Matcher, question: str
) -> None:
    """DESIGN: a personal framing is not a personal case."""
    result = matcher.match(question)
    assert (result.outcome, result.entry_id, result.reason) == (
        "answer",
        "who-is-protected",
        "framed",
    )


@pytest.mark.parametrize(
    ("question", "outcome", "reason"),
    [
        # A group the person sets themselves among: what the article says of everyone.
        (
            "so bottom line, can people like her feel a bit safer in LA now or not",
            "answer",
            "framed",
        ),
        ("¿qué cambia esta ley para gente como nosotros?", "answer", "framed"),
        # The one who asks: their own life, which no article settles.
        ("what does this change for someone like me living in LA", "suggest", "personal"),
        ("qué cambia esto para alguien como yo que vive en LA", "suggest", "personal"),
    ],
)
def test_a_framing_of_a_group_is_answered_and_of_oneself_is_not(
    matcher: Matcher, question: str, outcome: str, reason: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert result.entry_id == "what-it-means-for-immigrants"


@pytest.mark.parametrize(
    "question",
    [
        # Only whom the question is about ("my wife") is shared with an entry.
        "how can I bring my wife here from Honduras",
        # An outcome is still a personal case, however it is framed.
        "if I ask the city for a permit, will they deport me?",
        # Reporting a crime is not something the article covers.
        "if I report domestic violence to the police, will they tell ICE?",
        # How the law is enforced, and what befalls whoever breaks it, the article does not say;
        # an "or..." asks the same question another way.
        "¿La ordenanza establece sanciones para empleados de la ciudad que compartan información?",
        "y q le pasa a un policia si ayuda a la migra? lo corren o le ponen multa?",
        "pero entonces ICE todavía puede arrestar gente en LA? o la ley los para a ellos también?",
        "this law start already or when it start? date pls",
        # Where to complain about unpaid wages.
        "el contratista me debe tres semanas y no me quiere pagar. Eso es legal? donde pongo "
        "la queja",
    ],
)
def test_what_the_article_does_not_answer_stays_unanswered(
    matcher: Matcher, question: str
) -> None:
    assert matcher.match(question).outcome != "answer"


def test_a_landlord_in_the_story_is_not_the_city(matcher: Matcher) -> None:
    """The article speaks of the city only: what a landlord may do is not answered."""
    result = matcher.match(
        "My landlord says he will call immigration on me. Does the law stop him from doing that?"
    )
    assert result.outcome != "answer"


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        # Wanting to know whether an answer counts as a lawyer's advice is not a booking.
        (
            "Mi papá quiere saber si lo que usted contesta se puede tomar como asesoría de un "
            "abogado.",
            "is-this-legal-advice",
        ),
        ("r u a bot or a real person", "what-can-this-bot-do"),
        # A reason given ("porque cree que...") is not a question why.
        (
            "Tiene miedo de pedir ayuda a la ciudad porque cree que van a mandar sus datos a "
            "inmigración. ¿La ciudad puede compartir información con las agencias federales?",
            "city-data-sharing",
        ),
        # Asking how to pass the answer on is not asking what to do.
        (
            "My neighbour asked me why the city made this law. What should I tell her?",
            "why-la-passed-the-law",
        ),
        # "Does this mean..." draws a conclusion; it does not ask what a word means.
        (
            "does this mean people w/o papers can feel safer in LA now?",
            "what-it-means-for-immigrants",
        ),
    ],
)
def test_what_a_message_wants_besides_its_words(
    matcher: Matcher, question: str, entry: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id, result.intent) == ("answer", entry, None)


def test_a_claim_checked_brings_no_place_of_the_story(matcher: Matcher) -> None:
    """ "...like from business license. Is true city share information?" asks about the city."""
    result = matcher.match(
        "Customer at my work tell me city of LA give all information to immigration, like from "
        "business license. So I afraid to renew license. Is true city share information with "
        "immigration?"
    )
    assert (result.outcome, result.entry_id) == ("answer", "city-data-sharing")


def test_a_fact_not_given_before_a_bare_check_stays_unanswered(matcher: Matcher) -> None:
    result = matcher.match("The law takes effect in January. Is that true?")
    assert result.outcome != "answer"


def test_where_a_relative_lives_is_not_the_place_asked_about(matcher: Matcher) -> None:
    asked = matcher.match(
        "my cousin in texas keeps asking me if los angeles is one of those sanctuary citys"
    )
    assert (asked.outcome, asked.entry_id) == ("answer", "is-la-sanctuary-city")
    # Asked about the relative there, it is the other place's question.
    assert matcher.match("my cousin in texas, is she protected by the LA law?").outcome != "answer"


def test_a_scene_set_before_the_question_is_not_what_it_asks(matcher: Matcher) -> None:
    result = matcher.match(
        "Before I share this chat with my members, what exactly can this assistant help with?"
    )
    assert (result.outcome, result.entry_id) == ("answer", "what-can-this-bot-do")


def test_asking_whether_the_bot_covers_a_topic_offers_what_it_does(matcher: Matcher) -> None:
    result = matcher.match("can this bot help me with employer stuff or just the sanctuary law?")
    assert result.entry_id == "what-can-this-bot-do"


def test_the_papers_of_a_sentence_pointed_back_at_are_the_storys(matcher: Matcher) -> None:
    result = matcher.match(
        "my moms scared to sign up for the city rent help thing bc she thinks LA will hand her "
        "address to ICE. does this new law actually stop the city from sharing info like that??"
    )
    assert (result.outcome, result.entry_id) == ("answer", "city-data-sharing")


def test_a_question_about_that_reads_the_last_sentence_naming_something(matcher: Matcher) -> None:
    result = matcher.match(
        "Mi suegro trabaja en un campo de golf. Sus compañeros dicen que la ciudad va a tener "
        "que ponerse del lado del gobierno federal en las deportaciones. Él no sabe si "
        "creerles. ¿Qué dijo la ciudad sobre eso?"
    )
    assert result.entry_id == "mass-deportations"


@pytest.mark.parametrize(
    "message",
    [
        "grandpa fell in the shower, hit his head, lots of blood",
        "cook cut hand very deep, blood not stop",
        "my roommate not wake up, he took something last night",
        "student having an asthma attack, inhaler not working",
        "man in my car has a knife, he says keep driving",
        "He'll kill her, he is out in the parking lot",
        "mi niño se tragó unas pastillas y se está poniendo morado",
        "a mi compa le dio un dolor en el pecho y se cayó al piso",
        "me chocaron en la moto y no siento la pierna",
        "hombre con cuchillo en la puerta de mi cuarto",
        "mi pareja me está pegando ahorita, ayuda",
        "mi amiga tomó un montón de pastillas y no se despierta",
        "mi abuela tiene un dolor fuerte en el pecho, que hacemos",
    ],
)
def test_a_danger_to_life_in_other_words_is_medical(matcher: Matcher, message: str) -> None:
    result = matcher.match(message)
    assert result.medical, result
    assert result.outcome != "answer"


@pytest.mark.parametrize(
    "message",
    [
        "mañana tengo cita con la migra y no tengo abogado",
        "mi esposo llamo de la carcel de migracion. dice mañana lo mandan a guatemala en avion",
        "un patrón no me deja salir de su casa y dice que si me voy llama a migración",
        "ahorita hay unos carros negros afuera de la casa de la vecina y la están sacando "
        "esposada",
        "la border está en el parking de la tienda en Tweedy ahorita",
        # The past in the present, as ESL English often gives it.
        "Urgent please. One hour ago ICE officers arrest the son of our church member in front "
        "of his apartment. We do not know where they take him. We need lawyer call us now.",
        "ICE arrest my husband this morning",
        "ICE take my brother at nail salon this afternoon. What we do tonight?",
        "la migra agarra a mi hermano hace una hora",
        # A deportation flight days away.
        "dicen que el vuelo a la habana sale el martes y mi hermano esta en ese vuelo, ayudenme",
        "ICE agents just walked into the kitchen of my parents' restaurant, asking for ID",
        "me trasladan hoy a texas dice mi hermano desde el centro, ayuda",
        "mi esposo llamó de la detención: hoy en la tarde lo van a poner en un vuelo a Guatemala",
    ],
)
def test_a_crisis_in_other_words_is_urgent(matcher: Matcher, message: str) -> None:
    assert matcher.match(message).urgent


@pytest.mark.parametrize(
    "message",
    [
        # A clause that dates the one before it ("eso pasó hace mucho").
        "Cuando llegué me tuvieron detenida meses, pero eso pasó hace mucho. ¿Los cubanos con "
        "el I-220A pueden sacar la residencia?",
        "A una compañera la agarraron hace año y medio, estuvo seis meses detenida. ¿Ustedes "
        "ven casos de gente que trabaja en casas?",
        # What agents will do, or do as a rule, asked without a time of the last hours.
        "will ICE arrest my husband?",
        "will ICE arrest my husband today?",
        "does ICE arrest the parents at schools?",
        # A video from another state; a season gone by, and the one detained then released.
        "Grandpa watched a WeChat video of ICE agents arresting people in some other state and "
        "now he won't go to the park. How do I explain to him what a raid is?",
        "Last spring one of my students got pulled out of class because his dad had been "
        "detained. The dad was released after a few weeks. Where should I start a plan?",
        "el verano pasado detuvieron a mi tío, ya salió. ¿qué hacemos si pasa otra vez?",
        # Hearing of something is not a hearing; TV and news about no one the person names.
        "I keep hearing from other caregivers that ICE will raid nursing homes next week. Is "
        "that true?",
        "Grandpa watches Armenian TV and they said ICE is arresting people in Glendale this "
        "week. I checked the news and couldn't find anything.",
    ],
)
def test_more_look_alikes_are_not_a_crisis(matcher: Matcher, message: str) -> None:
    assert not matcher.match(message).urgent


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        # A wrong premise the answer corrects; "or is it over?" (Peru) asks the same.
        (
            "is it true LA stopped being a sanctuary city? my tita saw it on facebook",
            "is-la-sanctuary-city",
        ),
        ("oe causa, LA sigue siendo santuario no? o eso ya fue", "is-la-sanctuary-city"),
        # How the answer is asked for is not what is asked.
        ("What are the key provisions, in plain language?", "la-law-approved"),
        ("¿Me puedes explicar facilito cuáles son los puntos principales?", "la-law-approved"),
        # Handing data over, however it is said.
        (
            "decime una cosa, la ciudad le pasa nuestros datos a migracion o no?",
            "city-data-sharing",
        ),
        ("will my messages be sent to ICE?", "my-data-privacy"),
        ("si les pongo aquí los nombres de mis inquilinos eso se guarda?", "my-data-privacy"),
        (
            "Abeg, before I explain my matter I want to know who reads this chat. Will my "
            "messages be sent to ICE?",
            "my-data-privacy",
        ),
        # A question told of, in a message that asks none itself.
        (
            "I am deacon at Korean church. Some of our members have visa overstay problem. "
            "They ask if LA city give their name and address information to immigration office.",
            "city-data-sharing",
        ),
        # Not sure, of two claims, is not "am I safe?".
        ("no estoy seguro si la policía ayuda a ICE", "police-and-deportations"),
        (
            "Un compa dice que ahora la LAPD tiene que entregar a la gente a migracion. Yo le "
            "dije que no es cierto pero no estoy seguro. Quien tiene la razon?",
            "police-and-deportations",
        ),
        # Words of the story that only look like a topic: where a rumour was read, agents
        # showing up (not what a decision shows), deportations ordered (not data sent), a
        # decision as the approval.
        (
            "neta, ¿de dónde sacaron esto? ¿es de un periódico de verdad o de un grupo de "
            "WhatsApp de la tía?",
            "news-source",
        ),
        (
            "If LAPD shows up while ICE is raiding my block are they gonna help grab people",
            "police-and-deportations",
        ),
        (
            "o sea que si el trump manda hacer deportaciones en masa la ciudad no le va a ayudar?",
            "mass-deportations",
        ),
        # What the assistant can do, asked in other words.
        ("que hace este chat. usted ayuda con que cosa", "what-can-this-bot-do"),
        ("What kinds of questions is it actually able to help with?", "what-can-this-bot-do"),
        # "With this" is what the sentence before names.
        (
            "Trump say he deport millions people. Our members are very afraid. LA city will "
            "cooperate with this or not?",
            "mass-deportations",
        ),
        (
            "Mi mamá vio en la tele la noticia. ¿Por qué la ciudad decidió hacer esa ley?",
            "why-la-passed-the-law",
        ),
    ],
)
def test_how_a_question_is_put_does_not_stop_its_answer(
    matcher: Matcher, question: str, entry: str
) -> None:
    result = matcher.match(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result


@pytest.mark.parametrize(
    "question",
    [
        "yo no tiene papel. migra saca a mi?",
        "dice mi abuela que si a ella ya mero la van a regresar a Mexico porque no tiene papeles",
        "will ICE take my brother?",
    ],
)
def test_whether_the_agents_will_take_someone_is_their_own_case(
    matcher: Matcher, question: str
) -> None:
    """However it is put, and though the privacy entry names papers and ICE too."""
    result = matcher.match(question)
    assert (result.outcome, result.reason) == ("suggest", "personal")


def test_telling_this_chat_a_status_still_asks_about_the_chat(matcher: Matcher) -> None:
    result = matcher.match("if I tell you I have no papers will you tell ICE?")
    assert (result.outcome, result.entry_id) == ("answer", "my-data-privacy")
