"""The channel-agnostic conversation engine, driven with plain events and a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialogue import (
    BOOK,
    NONE_OF_THESE,
    TOPICS,
    URGENT_BOOK,
    ButtonPress,
    Command,
    Dialogue,
    Event,
    ForgetUser,
    OtherMessage,
    QuestionAsked,
    SaveLead,
    SessionState,
    SharedContact,
    TextMessage,
    Turn,
    UnansweredQuestion,
    decode_state,
    encode_state,
)
from bot.dialogue.contacts import parse_email, parse_phone
from bot.faq.knowledge import LANGUAGES, TELEGRAM_MESSAGE_LIMIT, Knowledge, Language
from bot.faq.loader import load_knowledge
from bot.matching.matcher import Matcher
from bot.records import Lead, PersonData
from tests.conftest import FAQ_DIR

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NEW_CHAT = SessionState()
PHONE = "(213) 555-0147"
PHONE_E164 = "+12135550147"


def say(dialogue: Dialogue, state: SessionState, event: Event, **kwargs) -> Turn:
    return dialogue.handle(state, event, now=kwargs.pop("now", NOW), **kwargs)


def _lead(turn: Turn) -> Lead:
    (effect,) = [effect for effect in turn.effects if isinstance(effect, SaveLead)]
    return effect.lead


def test_start_greets_in_the_hinted_language_with_menu(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, Command("start"), language_hint="es")
    (reply,) = turn.replies
    assert knowledge.text("es", "welcome") in reply.text
    assert knowledge.firm.disclaimer["es"] in reply.text
    assert [button.data for button in reply.buttons] == ["ask", "topics", "book", "lang"]


def test_answer_names_its_source_and_offers_related_and_booking(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("can lapd help ICE?"))
    (reply,) = turn.replies
    assert reply.text.startswith(knowledge.answer("police-and-deportations", "en"))
    # Every answer ends with the source, its date and "general information, not legal advice".
    assert reply.text.endswith(knowledge.source_label("police-and-deportations", "en"))
    assert "General information, not legal advice." in reply.text
    data = [button.data for button in reply.buttons]
    related = knowledge.entries["police-and-deportations"].related
    assert data == ["more:police-and-deportations"] + [f"q:{entry}" for entry in related] + [BOOK]
    assert turn.effects == (QuestionAsked("answer", "en"),)


def test_spanish_text_switches_the_conversation_to_spanish(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("¿qué es la SB 54?"), language_hint="en")
    assert turn.state.last_language == "es"
    assert knowledge.answer("california-sb54", "es") in turn.replies[0].text
    help_turn = say(dialogue, turn.state, Command("help"), language_hint="en")
    assert help_turn.replies[0].text == knowledge.texts["es"]["help"]


def test_suggestion_then_none_of_these_keeps_the_scrubbed_question(dialogue: Dialogue) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("ice?? 213 555 0147"))
    assert turn.replies[0].buttons[-1].data == NONE_OF_THESE
    fallback = say(dialogue, turn.state, ButtonPress(NONE_OF_THESE))
    assert fallback.effects == (UnansweredQuestion("ice?? [phone]", "en"),)
    assert fallback.state.pending_question is None


def test_unknown_question_falls_back_with_the_firm_phone(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("How do I get a green card? mail me a@b.co"))
    (reply,) = turn.replies
    assert knowledge.firm.phone in reply.text
    assert [button.data for button in reply.buttons] == [BOOK]
    assert UnansweredQuestion("How do I get a green card? mail me [email]", "en") in turn.effects


def test_greeting_gets_a_greeting_not_a_fallback(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("hola"))
    assert turn.replies[0].text == knowledge.texts["es"]["greeting"]
    assert turn.effects == ()


def test_topics_then_topic_lists_its_questions(dialogue: Dialogue, knowledge: Knowledge) -> None:
    topics = say(dialogue, NEW_CHAT, ButtonPress(TOPICS)).replies[0]
    assert len(topics.buttons) == len(knowledge.topics)
    topic = say(dialogue, NEW_CHAT, ButtonPress(topics.buttons[0].data)).replies[0]
    topic_id = topics.buttons[0].data.removeprefix("topic:")
    expected = [e.id for e in knowledge.entries.values() if e.topic == topic_id]
    assert [b.data.removeprefix("q:") for b in topic.buttons] == expected


def test_language_button_is_remembered(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = say(dialogue, NEW_CHAT, ButtonPress("lang:es"))
    assert turn.state.chosen_language == "es"
    assert turn.replies[0].text == knowledge.texts["es"]["language_set"]
    again = say(dialogue, turn.state, Command("start"), language_hint="en")
    assert knowledge.text("es", "welcome") in again.replies[0].text


def test_stale_or_forged_buttons_get_a_kind_reply(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    stale = knowledge.texts["en"]["stale_button"]
    for data in ("q:removed-entry", "topic:gone", "topics:99", "lang:fr", "garbage", "", "b:x"):
        (reply,) = say(dialogue, NEW_CHAT, ButtonPress(data)).replies
        assert reply.text == stale
        assert reply.buttons


def test_the_same_button_tapped_twice_is_done_once(dialogue: Dialogue) -> None:
    first = say(dialogue, NEW_CHAT, ButtonPress(BOOK, tap="7:book"))
    second = say(dialogue, first.state, ButtonPress(BOOK, tap="7:book"))
    assert first.state.step == "consent"
    assert second.state == first.state
    (toast,) = second.replies
    assert toast.toast


def test_unreadable_messages_and_unknown_commands(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    sticker = say(dialogue, NEW_CHAT, OtherMessage("sticker")).replies[0]
    assert sticker.text == knowledge.texts["en"]["unsupported_message"]
    edited = say(dialogue, NEW_CHAT, OtherMessage("edited")).replies[0]
    assert edited.text == knowledge.texts["en"]["edited_message"]
    unknown = say(dialogue, NEW_CHAT, Command("frobnicate")).replies[0]
    assert unknown.text == knowledge.texts["en"]["unknown_command"]
    empty = say(dialogue, NEW_CHAT, TextMessage("   \n ")).replies[0]
    assert empty.text == knowledge.texts["en"]["empty_message"]


def _book(dialogue: Dialogue, contact: Event, *, language: str = "en") -> list[Turn]:
    turns = []
    state = NEW_CHAT
    events: list[Event] = [
        Command("book"),
        ButtonPress("b:consent:yes"),
        contact,
        TextMessage("  Ana\u200b María "),
        ButtonPress("b:voicemail:no"),
        TextMessage("my cousin's case"),  # the topic, offered on the summary
        ButtonPress("b:confirm:yes"),
    ]
    for event in events:
        turn = say(dialogue, state, event, language_hint=language)
        turns.append(turn)
        state = turn.state
    return turns


def test_full_booking_by_phone_produces_one_validated_lead(dialogue: Dialogue) -> None:
    turns = _book(dialogue, TextMessage(PHONE))
    steps = [turn.state.step for turn in turns]
    assert steps == ["consent", "contact", "name", "voicemail", "confirm", "confirm", None]
    assert all(not turn.effects for turn in turns[:-1])
    lead = _lead(turns[-1])
    assert (lead.name, lead.phone, lead.email) == ("Ana María", PHONE_E164, None)
    assert (lead.preferred_time, lead.voicemail_ok, lead.topic) == (
        "any",
        False,
        "my cousin's case",
    )
    assert lead.reference in turns[-1].replies[0].text
    assert turns[-1].state.open_reference == lead.reference
    assert turns[1].replies[0].request_contact  # the contact step offers "share my number"
    # The name's question takes the keyboard away itself: no message in between.
    (name_prompt,) = turns[2].replies
    assert name_prompt.remove_keyboard


def test_booking_with_own_shared_contact(dialogue: Dialogue) -> None:
    turns = _book(dialogue, SharedContact("12135550147", is_own=True))
    assert _lead(turns[-1]).phone == PHONE_E164


def test_someone_elses_contact_is_refused(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turns = _book(dialogue, SharedContact("+12135550199", is_own=False))
    assert turns[2].replies[0].text == knowledge.texts["en"]["contact_not_yours"]
    assert turns[2].state.step == "contact"
    assert all(not isinstance(e, SaveLead) for turn in turns for e in turn.effects)


def test_an_email_booking_asks_no_voicemail_and_no_call_window(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    state = NEW_CHAT
    for event in (Command("book"), ButtonPress("b:consent:yes")):
        state = say(dialogue, state, event).state
    turn = say(dialogue, state, TextMessage("Luis.Perez@Example.org"))
    assert turn.state.step == "name"
    assert turn.state.draft.email == parse_email("Luis.Perez@Example.org")
    summary = say(dialogue, turn.state, TextMessage("Luis"))
    assert summary.state.step == "confirm"
    (reply,) = summary.replies
    assert knowledge.text("en", "summary_voicemail", voicemail="") not in reply.text
    assert knowledge.text("en", "summary_time", time="").strip() not in reply.text
    assert knowledge.texts["en"]["summary_topic_offer"] in reply.text


def test_three_invalid_phones_offer_a_way_out(dialogue: Dialogue, knowledge: Knowledge) -> None:
    state = NEW_CHAT
    for event in (ButtonPress(URGENT_BOOK), ButtonPress("b:consent:yes")):
        state = say(dialogue, state, event).state
    assert state.step == "phone"
    replies = []
    for typed in ("12", "not a number", "+999 123"):
        turn = say(dialogue, state, TextMessage(typed))
        state = turn.state
        replies.append(turn.replies[-1])
    assert replies[0].text == knowledge.texts["en"]["phone_length"]
    assert replies[1].text == knowledge.texts["en"]["phone_invalid"]
    assert turn.replies[0].text == knowledge.texts["en"]["phone_country"]
    assert knowledge.firm.phone in replies[2].text
    assert [b.data for b in replies[2].buttons] == ["b:phone:email", "b:phone:cancel"]
    moved = say(dialogue, state, ButtonPress("b:phone:email"))
    assert moved.state.step == "email"


def test_cancel_at_every_step_stores_nothing(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turns = _book(dialogue, TextMessage(PHONE))
    for turn in turns[:-1]:
        cancelled = say(dialogue, turn.state, Command("cancel"))
        assert cancelled.state.step is None
        assert cancelled.state.draft.name is None
        assert cancelled.effects == ()
        assert cancelled.replies[-1].text == knowledge.texts["en"]["cancelled"]


def test_decline_consent_stores_nothing(dialogue: Dialogue, knowledge: Knowledge) -> None:
    state = say(dialogue, NEW_CHAT, Command("book")).state
    turn = say(dialogue, state, ButtonPress("b:consent:no"))
    assert turn.state.step is None
    assert turn.effects == ()
    assert knowledge.firm.phone in turn.replies[0].text


def test_idle_booking_expires(dialogue: Dialogue, knowledge: Knowledge) -> None:
    state = NEW_CHAT
    for event in (Command("book"), ButtonPress("b:consent:yes")):
        state = say(dialogue, state, event).state
    later = NOW + timedelta(minutes=31)
    turn = say(dialogue, state, TextMessage("sb54?"), now=later)
    assert turn.replies[0].text == knowledge.texts["en"]["booking_expired"]
    assert knowledge.answer("california-sb54", "en") in turn.replies[1].text
    assert turn.state.step is None


def test_second_booking_offers_to_update_the_first(dialogue: Dialogue) -> None:
    done = _book(dialogue, TextMessage(PHONE))[-1].state
    offer = say(dialogue, done, Command("book"))
    assert offer.state.step == "update"
    state = say(dialogue, offer.state, ButtonPress("b:update:yes")).state
    for event in (
        ButtonPress("b:consent:yes"),
        TextMessage("ana@example.com"),
        TextMessage("Ana"),
    ):
        state = say(dialogue, state, event).state
    final = say(dialogue, state, ButtonPress("b:confirm:yes"))
    (effect,) = final.effects
    assert isinstance(effect, SaveLead)
    assert effect.update
    assert effect.lead.reference == done.open_reference


def test_change_something_returns_to_the_summary(dialogue: Dialogue) -> None:
    state = _book(dialogue, TextMessage(PHONE))[-2].state
    state = say(dialogue, state, ButtonPress("b:confirm:change")).state
    state = say(dialogue, state, ButtonPress("b:change:name")).state
    turn = say(dialogue, state, TextMessage("Ana López"))
    assert turn.state.step == "confirm"
    assert "Ana López" in turn.replies[0].text


@pytest.mark.parametrize(
    ("message", "language"),
    [("how do i schedule a consultation?", "en"), ("¿cómo hago una cita con un abogado?", "es")],
)
def test_asking_the_way_to_book_gets_the_firm_s_ways_in_then_the_booking(
    dialogue: Dialogue, knowledge: Knowledge, message: str, language: Language
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage(message))
    ways_in, consent = turn.replies
    assert ways_in.text.startswith(knowledge.answer("contact-the-firm", language))
    assert knowledge.firm.phone in ways_in.text
    assert (
        consent.text
        == say(dialogue, NEW_CHAT, Command("book"), language_hint=language).replies[0].text
    )
    assert turn.state.step == "consent"
    booked = say(dialogue, turn.state, ButtonPress("b:consent:yes"))
    assert booked.state.step == "contact"


def test_urgent_message_gives_the_phone_first(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("la migra está afuera de mi casa"))
    (reply,) = turn.replies
    assert reply.text == knowledge.text("es", "urgent")
    assert knowledge.firm.phone in reply.text.splitlines()[0]
    assert [button.data for button in reply.buttons] == [URGENT_BOOK]
    booking = say(dialogue, turn.state, ButtonPress(reply.buttons[0].data))
    assert booking.state.step == "consent"
    assert booking.state.draft.urgent


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("ICE is outside my work right now, can LAPD help them?", "en"),
        ("la migra está afuera de mi trabajo ahorita, la policía de LA les puede ayudar?", "es"),
    ],
)
def test_a_crisis_comes_first_then_the_answer_to_what_it_also_asks(
    dialogue: Dialogue, knowledge: Knowledge, message: str, language: Language
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage(message))
    urgent, answer = turn.replies
    assert urgent.text == knowledge.text(language, "urgent")
    assert [button.data for button in urgent.buttons] == [URGENT_BOOK]
    assert answer.text.startswith(knowledge.answer("police-and-deportations", language))


@pytest.mark.parametrize(
    ("crisis", "language"),
    [
        ("ICE just took my husband from our house", "en"),
        ("se llevaron a mi hijo esta mañana, que hago", "es"),
        ("tengo corte de inmigración el lunes", "es"),
    ],
)
def test_a_confirmed_urgent_callback_within_six_actions(
    dialogue: Dialogue, knowledge: Knowledge, crisis: str, language: Language
) -> None:
    """Crisis message, urgent button, consent, phone, voicemail, confirm: six, no time asked."""
    actions: list[Event] = [
        TextMessage(crisis),
        ButtonPress(URGENT_BOOK),
        ButtonPress("b:consent:yes"),
        TextMessage(PHONE),
        ButtonPress("b:voicemail:no"),
        ButtonPress("b:confirm:yes"),
    ]
    state = NEW_CHAT
    prompts = []
    for action in actions:
        turn = say(dialogue, state, action)
        prompts += [reply.text for reply in turn.replies]
        state = turn.state
    lead = _lead(turn)
    assert lead.urgent
    assert (lead.phone, lead.name, lead.voicemail_ok) == (PHONE_E164, None, False)
    assert knowledge.firm.phone in prompts[0].splitlines()[0]
    assert knowledge.texts[language]["ask_voicemail"] in prompts
    hours = knowledge.firm.hours[language]
    asked_time = knowledge.text(language, "ask_time", zone="Los Angeles", hours=hours)
    assert asked_time not in prompts
    assert lead.reference in prompts[-1]


def test_a_medical_emergency_gets_911_first_and_is_not_a_legal_crisis(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("mi papá no respira, ayuda"))
    assert turn.replies[0].text == knowledge.texts["es"]["medical_emergency"]
    assert "911" in turn.replies[0].text
    assert all(URGENT_BOOK not in [b.data for b in reply.buttons] for reply in turn.replies)


@pytest.mark.parametrize(
    "question",
    [
        "can I be deported if I am undocumented in LA?",
        "am I safe in Los Angeles without papers?",
        "tengo orden de deportación, me pueden llevar?",
        "what should I do if the police stop me",
    ],
)
def test_a_personal_case_is_never_answered_from_an_entry(
    dialogue: Dialogue, knowledge: Knowledge, question: str
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage(question))
    (reply,) = turn.replies
    language = turn.state.language()
    assert reply.text.startswith(knowledge.text(language, "personal_case_alone")[:40])
    assert knowledge.firm.phone in reply.text
    assert reply.buttons[-1].data == BOOK
    assert all(not isinstance(effect, UnansweredQuestion) for effect in turn.effects)
    assert (
        QuestionAsked("suggest", language) in turn.effects
        or QuestionAsked("fallback", language) in turn.effects
    )


def test_a_fact_the_article_does_not_give_is_not_answered(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(
        dialogue, NEW_CHAT, TextMessage("when does the LA sanctuary ordinance take effect?")
    )
    (reply,) = turn.replies
    assert not any(reply.text.startswith(knowledge.answer(e, "en")) for e in knowledge.entries)
    assert knowledge.firm.phone in reply.text


def _with_confirmed_hours(knowledge: Knowledge, matcher: Matcher) -> Dialogue:
    firm = knowledge.firm.model_copy(update={"hours_confirmed": True})
    return Dialogue(replace(knowledge, firm=firm), matcher)


def _phone_summary(dialogue: Dialogue, language: Language) -> Turn:
    state = NEW_CHAT
    for event in (
        Command("book"),
        ButtonPress("b:consent:yes"),
        TextMessage(PHONE),
        TextMessage("Ana"),
    ):
        state = say(dialogue, state, event, language_hint=language).state
    return say(dialogue, state, ButtonPress("b:voicemail:no"), language_hint=language)


def test_no_call_window_or_hours_before_the_firm_confirms_them(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    for language in LANGUAGES:
        summary = _phone_summary(dialogue, language)
        (reply,) = summary.replies
        assert knowledge.firm.hours[language] not in reply.text
        assert knowledge.firm.call_windows.evening[language] not in reply.text
        assert knowledge.text(language, "summary_time", time="").strip() not in reply.text
        hint = {"language_hint": language}
        change = say(dialogue, summary.state, ButtonPress("b:confirm:change"), **hint)
        assert "b:change:time" not in [button.data for button in change.replies[0].buttons]
        forged = say(dialogue, change.state, ButtonPress("b:change:time"), **hint)
        assert forged.state.step == "change"
        assert forged.replies[0].text == knowledge.texts[language]["stale_button"]


def test_once_confirmed_the_firm_s_call_windows_are_offered_by_change_something(
    knowledge: Knowledge, matcher: Matcher
) -> None:
    dialogue = _with_confirmed_hours(knowledge, matcher)
    summary = _phone_summary(dialogue, "es")
    assert knowledge.text("es", "summary_time", time="A cualquier hora") in summary.replies[0].text
    state = say(dialogue, summary.state, ButtonPress("b:confirm:change")).state
    turn = say(dialogue, state, ButtonPress("b:change:time"), language_hint="es")
    (prompt,) = turn.replies
    labels = [button.label for button in prompt.buttons]
    assert all(not label.startswith("Mañana") for label in labels)
    assert "Por la mañana, de 9 a. m. a mediodía" in labels
    assert "hora de Los Angeles" in prompt.text
    assert knowledge.firm.hours["es"] in prompt.text
    back = say(dialogue, turn.state, ButtonPress("b:time:evening"), language_hint="es")
    assert back.state.step == "confirm"
    assert knowledge.firm.call_windows.evening["es"] in back.replies[0].text


def test_urgent_message_in_the_middle_of_the_form(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    state = NEW_CHAT
    for event in (Command("book"), ButtonPress("b:consent:yes")):
        state = say(dialogue, state, event).state
    turn = say(dialogue, state, TextMessage("ICE is at my door right now"))
    assert turn.replies[0].text == knowledge.text("en", "urgent")
    assert turn.replies[1].text == knowledge.texts["en"]["ask_contact"]
    assert turn.state.step == "contact"
    assert turn.state.draft.urgent
    # Now urgent: the phone leads to the voicemail, with no name asked.
    assert say(dialogue, turn.state, TextMessage(PHONE)).state.step == "voicemail"


@pytest.mark.parametrize("confirmed", [False, True], ids=["unconfirmed", "confirmed"])
def test_the_welcome_names_the_firm_only_once_confirmed_and_says_it_is_automated(
    faq_copy: Path, confirmed: bool
) -> None:
    firm = faq_copy / "firm.yaml"
    text = firm.read_text(encoding="utf-8")
    firm.write_text(text.replace("name_confirmed: false", f"name_confirmed: {confirmed}".lower()))
    knowledge = load_knowledge(faq_copy)
    dialogue = Dialogue(knowledge, Matcher(knowledge))
    expected = {
        "en": ("automated assistant", "don't type your immigration status", "the law firm"),
        "es": (
            "asistente automático",
            "no escriba aquí su estatus migratorio",
            "la oficina de abogados",
        ),
    }
    for language in LANGUAGES:
        welcome = say(dialogue, NEW_CHAT, Command("start"), language_hint=language).replies[0]
        automated, status, unnamed = expected[language]
        assert automated in welcome.text
        assert status in welcome.text
        assert (knowledge.firm.name in welcome.text) is confirmed
        assert (
            f"automático de {unnamed}," in welcome.text
            or f"assistant of {unnamed}," in welcome.text
        ) is not confirmed


def test_forget_needs_confirmation(dialogue: Dialogue) -> None:
    asked = say(dialogue, NEW_CHAT, Command("forget"))
    assert asked.effects == ()
    kept = say(dialogue, asked.state, ButtonPress("b:forget:no"))
    assert kept.effects == ()
    done = say(dialogue, asked.state, ButtonPress("b:forget:yes"))
    assert done.effects == (ForgetUser(),)
    assert done.state == SessionState(last_language="en")


def test_forget_keeps_only_the_conversation_language_in_the_turn(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    """The reply after /forget, and what the channel does next, stay in the person's language;
    nothing else of the conversation is left in the turn's state (which is not stored)."""
    asked = say(dialogue, NEW_CHAT, TextMessage("¿la policía de Los Ángeles ayuda a ICE?"))
    asked = say(dialogue, asked.state, Command("forget"))
    done = say(dialogue, asked.state, ButtonPress("b:forget:yes"))
    assert done.replies[0].text == knowledge.text("es", "forgotten")
    assert done.state == SessionState(last_language="es")
    assert done.state.language() == "es"


def test_state_survives_a_round_trip_through_json(dialogue: Dialogue) -> None:
    for turn in _book(dialogue, TextMessage(PHONE)):
        assert decode_state(encode_state(turn.state)) == turn.state


def test_an_unreadable_state_starts_afresh_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    assert decode_state('{"step": "nonsense", "draft": 3}') == SessionState()
    assert decode_state("not json") == SessionState()
    assert "could not be read" in caplog.text
    assert "nonsense" not in caplog.text


def test_mydata_in_the_middle_of_a_booking_is_like_any_command(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    state = NEW_CHAT
    for event in (Command("book"), ButtonPress("b:consent:yes")):
        state = say(dialogue, state, event).state
    records = PersonData(has_session=True, draft_step="contact")
    turn = say(dialogue, state, Command("mydata"), records=records)
    report, prompt = turn.replies
    assert knowledge.texts["en"]["mydata_draft"] in report.text
    assert prompt.text == knowledge.texts["en"]["ask_contact"]
    assert turn.state.step == "contact"


def test_a_person_s_staff_command_is_an_unknown_command(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    # The staff commands are the staff room's (bot.staff.room); the person's engine knows none.
    for name in ("leads", "unanswered", "stats"):
        (reply,) = say(dialogue, NEW_CHAT, Command(name)).replies
        assert reply.text == knowledge.text("en", "unknown_command")


def test_the_share_keyboard_is_removed_once_and_only_when_showing(dialogue: Dialogue) -> None:
    state = NEW_CHAT
    flags = []
    for event in (
        Command("book"),
        ButtonPress("b:consent:yes"),
        TextMessage("12"),
        TextMessage(PHONE),
        TextMessage("Ana"),
        ButtonPress("b:voicemail:yes"),
    ):
        turn = say(dialogue, state, event)
        state = turn.state
        flags.append(
            [(reply.request_contact is not None, reply.remove_keyboard) for reply in turn.replies]
        )
    assert flags == [
        [(False, False)],
        [(True, False)],
        [(True, False)],  # an invalid number: the keyboard stays for the next try
        [(False, True)],  # the name's question takes it away: no "OK." message
        [(False, False)],
        [(False, False)],
    ]


def test_a_corrected_contact_says_what_it_understood_as_it_takes_the_keyboard_away(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    state = _book(dialogue, TextMessage(PHONE))[-2].state
    for event in (ButtonPress("b:confirm:change"), ButtonPress("b:change:contact")):
        state = say(dialogue, state, event).state
    turn = say(dialogue, state, TextMessage("+1 (213) 555-0199"))
    noted, summary = turn.replies
    assert noted.text == knowledge.text("en", "contact_noted", contact="+12135550199")
    assert noted.remove_keyboard
    assert not noted.buttons
    assert turn.state.step == "confirm"
    assert "+12135550199" in summary.text


def test_a_channel_without_one_tap_sharing_gets_no_phone_widget(
    knowledge: Knowledge, matcher: Matcher
) -> None:
    # The web chat: the number is typed, so nothing offers a share button, nothing has to
    # take one away, and a corrected number goes straight back to the summary.
    typed = Dialogue(knowledge, matcher, phone_share=False)
    turns = _book(typed, TextMessage(PHONE))
    state = turns[-2].state
    for event in (ButtonPress("b:confirm:change"), ButtonPress("b:change:contact")):
        turns.append(say(typed, state, event))
        state = turns[-1].state
    turns.append(say(typed, state, TextMessage("+1 (213) 555-0199")))
    replies = [reply for turn in turns for reply in turn.replies]
    assert not any(reply.request_contact or reply.remove_keyboard for reply in replies)
    (summary,) = turns[-1].replies
    assert "+12135550199" in summary.text
    assert _lead(turns[-4]).phone == PHONE_E164


def test_no_reply_both_removes_the_keyboard_and_has_buttons(dialogue: Dialogue) -> None:
    state = NEW_CHAT
    opening: tuple[Event, ...] = (Command("book"), ButtonPress("b:consent:yes"))
    for event in opening:
        state = say(dialogue, state, event).state
    for event in (Command("cancel"), TextMessage(PHONE), Command("start"), ButtonPress("topics")):
        for reply in say(dialogue, state, event).replies:
            assert not (reply.remove_keyboard and reply.buttons)


TEXTS = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        ["sb54", "hola", "ice", "quiero una cita", "🙂", PHONE, "a@b.co", "Ana", "detained"]
    ),
)
BUTTONS = st.sampled_from(
    [
        "none",
        "lang:es",
        "book",
        "urgent",
        "topics",
        "ask",
        "b:consent:yes",
        "b:consent:no",
        "b:contact:cancel",
        "b:time:morning",
        "b:voicemail:yes",
        "b:topic:skip",
        "b:change:contact",
        "b:change:time",
        "b:confirm:yes",
        "b:confirm:change",
        "b:change:name",
        "b:update:yes",
        "b:forget:yes",
        "b:phone:email",
        "b:x:y",
    ]
)
EVENTS = st.one_of(
    st.builds(TextMessage, TEXTS),
    st.builds(ButtonPress, BUTTONS, st.one_of(st.none(), st.integers(1, 3))),
    st.builds(ButtonPress, st.text(max_size=64)),
    st.builds(
        Command,
        st.sampled_from(["start", "help", "topics", "language", "book", "cancel", "forget", "x"]),
    ),
    st.builds(SharedContact, st.sampled_from([PHONE, "+447911123456", "12"]), st.booleans()),
    st.builds(OtherMessage, st.sampled_from(["sticker", "photo", "edited", "location"])),
)


# A complete booking, so that random sequences also reach (and interrupt) the end of the form.
BOOKING_SCRIPT: list[Event] = [
    Command("book"),
    ButtonPress("b:consent:yes"),
    TextMessage(PHONE),
    TextMessage("Ana"),
    ButtonPress("b:voicemail:yes"),
    ButtonPress("b:confirm:yes"),
]
CHUNKS = st.lists(
    st.one_of(EVENTS.map(lambda event: [event]), st.just(BOOKING_SCRIPT)), min_size=1, max_size=12
)


# Module-level, not fixtures: Hypothesis prints its arguments when a case fails.
_KNOWLEDGE = load_knowledge(FAQ_DIR)
ENGINE = Dialogue(_KNOWLEDGE, Matcher(_KNOWLEDGE))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=CHUNKS)
def test_any_sequence_of_events(chunks: list[list[Event]]) -> None:
    """Never raises, always replies, and stores a lead only after consent with a valid contact."""
    engine = ENGINE
    state = NEW_CHAT
    consented = False
    for event in (event for chunk in chunks for event in chunk):
        turn = engine.handle(state, event, now=NOW)
        assert turn.replies
        for reply in turn.replies:
            assert 0 < len(reply.text) <= TELEGRAM_MESSAGE_LIMIT
            assert all(len(button.data.encode()) <= 64 for button in reply.buttons)
        if state.step == "consent" and turn.state.step in ("contact", "phone"):
            consented = True
        for effect in turn.effects:
            if isinstance(effect, SaveLead):
                lead = effect.lead
                assert consented
                assert lead.urgent or (lead.name is not None and lead.name.strip())
                if lead.phone is not None:
                    assert parse_phone(lead.phone) == lead.phone
                else:
                    assert lead.email is not None
                    assert parse_email(lead.email) == lead.email
        if turn.state.step is None:
            consented = False  # a finished, cancelled or expired form needs consent again
        state = turn.state


def test_a_lead_needs_consent_even_with_forged_buttons(dialogue: Dialogue) -> None:
    forged = replace(NEW_CHAT, step="confirm")
    turn = say(dialogue, forged, ButtonPress("b:confirm:yes"))
    assert not any(isinstance(effect, SaveLead) for effect in turn.effects)


@pytest.mark.parametrize("message", ["help", "ayuda", "tengo miedo", "I'm scared"])
def test_fear_or_a_call_for_help_gets_the_phone_and_the_urgent_callback(
    dialogue: Dialogue, knowledge: Knowledge, message: str
) -> None:
    (reply,) = say(dialogue, NEW_CHAT, TextMessage(message)).replies
    assert knowledge.firm.phone in reply.text
    assert [button.data for button in reply.buttons] == [URGENT_BOOK]


def test_another_language_gets_a_reply_in_both_and_is_not_kept(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("안녕하세요. 한국어로 상담 가능한가요?"))
    (reply,) = turn.replies
    assert knowledge.firm.phone in reply.text
    assert "English" in reply.text
    assert "español" in reply.text
    assert not any(isinstance(effect, UnansweredQuestion) for effect in turn.effects)


@pytest.mark.parametrize(
    ("question", "entry", "note", "buttons"),
    [
        (
            "What's the reason behind the new sanctuary ordinance, and when was it passed?",
            "why-la-passed-the-law",
            "answered_in_part",
            True,
        ),
        (
            "are undocumented people like me protected by the law?",
            "who-is-protected",
            "framed_case",
            False,
        ),
    ],
)
def test_an_answer_to_part_of_a_message_says_what_it_leaves(
    dialogue: Dialogue, knowledge: Knowledge, question: str, entry: str, note: str, buttons: bool
) -> None:
    answer, extra = say(dialogue, NEW_CHAT, TextMessage(question)).replies
    assert answer.text.startswith(knowledge.answer(entry, "en"))
    assert extra.text.startswith(knowledge.texts["en"][note].split("{")[0])
    assert bool(extra.buttons) is buttons


@pytest.mark.parametrize(
    ("question", "language"),
    [("how much is a consultation", "en"), ("cuanto cuesta una consulta", "es")],
)
def test_a_question_about_fees_is_answered_then_offers_the_booking(
    dialogue: Dialogue, knowledge: Knowledge, question: str, language: Language
) -> None:
    """ "How much is a consultation?" is not a request to book one: the bot says the article
    gives no fees (call or write), then offers the booking button, instead of the consent form."""
    turn = say(dialogue, NEW_CHAT, TextMessage(question))
    (reply,) = turn.replies
    assert turn.state.step is None
    assert reply.text.startswith(knowledge.answer("firm-fees-and-office", language))
    assert knowledge.firm.phone in reply.text
    assert reply.buttons[-1].data == BOOK


def test_a_fact_the_article_does_not_give_is_named_with_the_nearest_entries(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("¿cuándo entra en vigor la ordenanza?"))
    (reply,) = turn.replies
    assert reply.text.startswith(knowledge.text("es", "not_said_take_effect"))
    assert knowledge.firm.phone in reply.text
    assert [button.data for button in reply.buttons] == [
        "q:la-law-approved",
        "q:what-it-means-for-immigrants",
        BOOK,
    ]
    assert UnansweredQuestion("¿cuándo entra en vigor la ordenanza?", "es") in turn.effects


def test_the_answered_question_comes_first_then_what_the_article_does_not_say(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(
        dialogue, NEW_CHAT, TextMessage("what does the law do and when does it take effect?")
    )
    answer, note = turn.replies
    assert answer.text.startswith(knowledge.answer("la-law-approved", "en"))
    assert note.text == knowledge.text("en", "not_said_take_effect")


# --- short answers: the article's limits once per conversation, "Read more" ------------------


def test_the_article_limits_are_said_once_per_conversation(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    limits = knowledge.text("en", "answer_limits")
    first = say(dialogue, NEW_CHAT, TextMessage("can lapd help ICE?"))
    assert limits in first.replies[0].text
    assert first.state.limits_said
    # A second answer that touches them, in the same chat: not again.
    second = say(dialogue, first.state, TextMessage("who does the sanctuary law protect"))
    assert knowledge.entries["who-is-protected"].limits
    assert second.replies[0].text.startswith(knowledge.answer("who-is-protected", "en"))
    assert limits not in second.replies[0].text
    # Nor from a button.
    pressed = say(dialogue, second.state, ButtonPress("q:city-data-sharing"))
    assert limits not in pressed.replies[0].text
    # A new chat hears them again.
    again = say(dialogue, NEW_CHAT, TextMessage("who does the sanctuary law protect"))
    assert limits in again.replies[0].text


def test_an_answer_that_does_not_touch_the_limits_leaves_them_for_later(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    limits = knowledge.text("es", "answer_limits")
    sb54 = say(dialogue, NEW_CHAT, TextMessage("¿qué es la SB 54?"))
    assert not knowledge.entries["california-sb54"].limits
    assert limits not in sb54.replies[0].text
    assert not sb54.state.limits_said
    police = say(dialogue, sb54.state, TextMessage("¿la policía de LA ayuda a ICE?"))
    assert limits in police.replies[0].text


def test_read_more_shows_what_the_article_says_at_more_length(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    answer = say(dialogue, NEW_CHAT, TextMessage("can lapd help ICE?"))
    more = answer.replies[0].buttons[0]
    assert (more.label, more.data) == ("Read more", "more:police-and-deportations")
    assert len(more.label) <= 32
    shown = say(dialogue, answer.state, ButtonPress(more.data))
    (reply,) = shown.replies
    details = knowledge.entries["police-and-deportations"].en.details
    assert details is not None
    assert reply.text.startswith(" ".join(details.split()))
    assert reply.text.endswith(
        "Source: the firm's article of November 2024, \"Los Angeles approves a new law "
        'strengthening its sanctuary city status".'
    )
    assert [button.data for button in reply.buttons][-1] == BOOK
    # A forged "more:" for no entry is a stale button.
    stale = say(dialogue, answer.state, ButtonPress("more:no-such-entry"))
    assert stale.replies[0].text == knowledge.text("en", "stale_button")


def test_a_state_stored_before_the_limits_were_remembered_still_loads() -> None:
    stored = encode_state(SessionState(last_language="es"))
    old = stored.replace(',"limits_said":false', "")
    assert "limits_said" not in old
    assert decode_state(old) == SessionState(last_language="es")


def test_buttons_show_each_entry_s_short_question(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = say(dialogue, NEW_CHAT, TextMessage("can lapd help ICE?"))
    labels = {button.data: button.label for button in turn.replies[0].buttons}
    for related in knowledge.entries["police-and-deportations"].related:
        assert labels[f"q:{related}"] == knowledge.entries[related].en.label
    for entry in knowledge.entries.values():
        for language in LANGUAGES:
            assert len(entry.text(language).label) <= 32, (entry.id, language)
