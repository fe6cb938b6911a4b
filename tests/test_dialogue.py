"""The channel-agnostic conversation engine, driven with plain events."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialogue import (
    BOOK,
    NONE_OF_THESE,
    TOPICS,
    ButtonPress,
    Command,
    Dialogue,
    Event,
    OtherMessage,
    SessionState,
    TextMessage,
    UnansweredQuestion,
)
from bot.knowledge import TELEGRAM_MESSAGE_LIMIT, Knowledge

NEW_CHAT = SessionState()


def test_start_greets_in_the_hinted_language_with_menu(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = dialogue.handle(NEW_CHAT, Command("start"), language_hint="es")
    (reply,) = turn.replies
    assert knowledge.texts["es"]["welcome"] in reply.text
    assert knowledge.texts["es"]["disclaimer"] in reply.text
    assert [button.data for button in reply.buttons] == ["ask", "topics", "book", "lang"]


def test_answer_names_its_source_and_offers_related_and_booking(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("can lapd help ICE?"))
    (reply,) = turn.replies
    assert reply.text.startswith(knowledge.answer("police-and-deportations", "en"))
    assert "Source: " in reply.text
    data = [button.data for button in reply.buttons]
    assert data[:-1] == [
        f"q:{entry}" for entry in knowledge.entries["police-and-deportations"].related
    ]
    assert data[-1] == BOOK


def test_spanish_text_switches_the_conversation_to_spanish(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("¿qué es la SB 54?"), language_hint="en")
    assert turn.state.last_language == "es"
    assert knowledge.answer("california-sb54", "es") in turn.replies[0].text
    help_turn = dialogue.handle(turn.state, Command("help"), language_hint="en")
    assert help_turn.replies[0].text == knowledge.texts["es"]["help"]


def test_suggestion_then_none_of_these_keeps_the_scrubbed_question(dialogue: Dialogue) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("ice?? 213 555 0147"))
    assert turn.replies[0].buttons[-1].data == NONE_OF_THESE
    fallback = dialogue.handle(turn.state, ButtonPress(NONE_OF_THESE))
    assert fallback.effects == (UnansweredQuestion("ice?? [phone]", "en"),)
    assert fallback.state.pending_question is None


def test_unknown_question_falls_back_with_the_firm_phone(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("How do I get a green card? mail me a@b.co"))
    (reply,) = turn.replies
    assert knowledge.firm.phone in reply.text
    assert [button.data for button in reply.buttons] == [BOOK]
    assert turn.effects == (
        UnansweredQuestion("How do I get a green card? mail me [email]", "en"),
    )


def test_greeting_gets_a_greeting_not_a_fallback(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("hola"))
    assert turn.replies[0].text == knowledge.texts["es"]["greeting"]
    assert turn.effects == ()


def test_booking_intent_gives_the_firm_contact(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = dialogue.handle(NEW_CHAT, TextMessage("quiero hablar con un abogado"))
    assert knowledge.firm.email in turn.replies[0].text
    assert turn.state.last_language == "es"


def test_topics_then_topic_lists_its_questions(dialogue: Dialogue, knowledge: Knowledge) -> None:
    topics = dialogue.handle(NEW_CHAT, ButtonPress(TOPICS)).replies[0]
    assert len(topics.buttons) == len(knowledge.topics)
    topic = dialogue.handle(NEW_CHAT, ButtonPress(topics.buttons[0].data)).replies[0]
    topic_id = topics.buttons[0].data.removeprefix("topic:")
    expected = [e.id for e in knowledge.entries.values() if e.topic == topic_id]
    assert [b.data.removeprefix("q:") for b in topic.buttons] == expected


def test_language_button_is_remembered(dialogue: Dialogue, knowledge: Knowledge) -> None:
    turn = dialogue.handle(NEW_CHAT, ButtonPress("lang:es"))
    assert turn.state.chosen_language == "es"
    assert turn.replies[0].text == knowledge.texts["es"]["language_set"]
    again = dialogue.handle(turn.state, Command("start"), language_hint="en")
    assert knowledge.texts["es"]["welcome"] in again.replies[0].text


def test_stale_or_forged_buttons_get_a_kind_reply(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    for data in ("q:removed-entry", "topic:gone", "topics:99", "lang:fr", "garbage", ""):
        (reply,) = dialogue.handle(NEW_CHAT, ButtonPress(data)).replies
        assert reply.text == knowledge.texts["en"]["stale_button"]
        assert reply.buttons


def test_unreadable_messages_and_unknown_commands(
    dialogue: Dialogue, knowledge: Knowledge
) -> None:
    sticker = dialogue.handle(NEW_CHAT, OtherMessage("sticker")).replies[0]
    assert sticker.text == knowledge.texts["en"]["unsupported_message"]
    unknown = dialogue.handle(NEW_CHAT, Command("frobnicate")).replies[0]
    assert unknown.text == knowledge.texts["en"]["unknown_command"]
    empty = dialogue.handle(NEW_CHAT, TextMessage("   \n ")).replies[0]
    assert empty.text == knowledge.texts["en"]["empty_message"]


EVENTS = st.one_of(
    st.builds(TextMessage, st.text(max_size=4096)),
    st.builds(TextMessage, st.sampled_from(["sb54", "hola", "ice", "quiero una cita", "🙂"])),
    st.builds(ButtonPress, st.one_of(st.text(max_size=64), st.sampled_from(["none", "lang:es"]))),
    st.builds(Command, st.sampled_from(["start", "help", "topics", "language", "book", "x"])),
    st.builds(OtherMessage, st.sampled_from(["sticker", "photo", "voice", "location"])),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(EVENTS, min_size=1, max_size=12))
def test_any_sequence_of_events_always_gets_replies(
    dialogue: Dialogue, events: list[Event]
) -> None:
    state = NEW_CHAT
    for event in events:
        turn = dialogue.handle(state, event)
        assert turn.replies
        for reply in turn.replies:
            assert 0 < len(reply.text) <= TELEGRAM_MESSAGE_LIMIT
            assert all(len(button.data.encode()) <= 64 for button in reply.buttons)
        state = turn.state
