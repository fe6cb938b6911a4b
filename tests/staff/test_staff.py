"""The staff's side, end to end through the fake Bot API: requests taken, done, not reached and
released from the staff chat; reminders; messages relayed both ways; /forget reaching the
staff chat."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.faq.knowledge import Knowledge, Language
from bot.staff.cards import StaffAction, staff_button_data
from tests.auxil.conversations import (
    CRISIS,
    PHONE_DIGITS,
    book,
    book_urgent,
    db_rows,
    db_write,
    jobs_at,
    last,
    staff_card,
    text_for,
)
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.harness import DATA_KEY, BotHarness, make_settings, sqlite_url
from tests.auxil.telegram_users import (
    ANA,
    BEN,
    LUIS,
    MARIA,
    STAFF_CHAT_ID,
    TelegramUser,
    make_callback_update,
    make_group_command_update,
    make_staff_callback_update,
)


@pytest.fixture(params=["en", "es"])
async def bot(
    request: pytest.FixtureRequest, api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> AsyncIterator[BotHarness]:
    """The bot with one staff group, its staff messages in English or Spanish."""
    settings = make_settings(
        api,
        sqlite_url(tmp_path),
        bot_admin_chat_ids=(STAFF_CHAT_ID,),
        staff_language=request.param,
    )
    harness = BotHarness(api, settings, knowledge)
    await harness.start()
    yield harness
    await harness.stop()


def staff_text(bot: BotHarness, key: str, **values: str) -> str:
    language: Language = bot.settings.staff_language
    return bot.knowledge.text(language, key, **values)


async def card_shows(bot: BotHarness, card: SentMessage, text: str) -> SentMessage:
    """Wait until the card (edited by the bot) shows `text`."""
    await bot.api.wait_until(f"the card shows {text!r}", lambda: text in card.text)
    return card


def button(bot: BotHarness, action: StaffAction, reference: str) -> str:
    return staff_button_data(action, reference)


def staff_command(bot: BotHarness, text: str) -> dict[str, object]:
    return make_group_command_update(STAFF_CHAT_ID, MARIA, bot.api.next_message_id(), text)


# --- taking, finishing, not reaching, releasing ------------------------------------------------


async def test_taking_a_request_shows_who_has_it_and_a_second_taker_is_told(
    bot: BotHarness,
) -> None:
    reference = await book(bot, BEN, name="Ben Llamada")
    card = await staff_card(bot, reference)
    assert "Ben Llamada" in card.text
    assert PHONE_DIGITS[-4:] in card.text
    assert staff_text(bot, "staff_status_received", owner="?") in card.text
    take = button(bot, "take", reference)
    assert take in [data for _, data in card.buttons]

    toast = await bot.staff_press(MARIA, card, take)
    assert toast == staff_text(bot, "staff_toast_take", reference=reference)
    await card_shows(bot, card, staff_text(bot, "staff_status_claimed", owner="Maria"))
    assert button(bot, "done", reference) in [data for _, data in card.buttons]
    assert take not in [data for _, data in card.buttons]

    # Luis's chat still showed the old buttons when he pressed.
    stale = SentMessage(
        card.message_id,
        STAFF_CHAT_ID,
        card.text,
        {"inline_keyboard": [[{"text": "take", "callback_data": take}]]},
    )
    toast = await bot.staff_press(LUIS, stale, take)
    assert toast == staff_text(bot, "staff_toast_taken", owner="Maria", reference=reference)
    assert staff_text(bot, "staff_status_claimed", owner="Maria") in card.text

    # The person sees that someone is handling it.
    mydata = (await bot.say(BEN, "/mydata"))[0]
    assert bot.knowledge.text("en", "status_claimed") in mydata.text
    assert "Maria" not in mydata.text
    assert bot.api.errors == []


async def test_two_staff_pressing_at_once_one_takes_it(bot: BotHarness, tmp_path: Path) -> None:
    reference = await book(bot, ANA, name="Ana Doble")
    card = await staff_card(bot, reference)
    take = button(bot, "take", reference)
    presses = [
        make_staff_callback_update(STAFF_CHAT_ID, member, card, take, f"race-{member.id}")
        for member in (MARIA, LUIS)
    ]
    await asyncio.gather(*(bot.handled(press) for press in presses))
    toasts = {
        answer["callback_query_id"]: answer.get("text") for answer in bot.api.callback_answers
    }
    taken = staff_text(bot, "staff_toast_take", reference=reference)
    won = [query for query, toast in toasts.items() if toast == taken]
    assert len(won) == 1, toasts
    winner, loser = ("Maria", "Luis") if won == [f"race-{MARIA.id}"] else ("Luis", "Maria")
    loser_query = f"race-{(LUIS if loser == 'Luis' else MARIA).id}"
    assert toasts[loser_query] == staff_text(
        bot, "staff_toast_taken", owner=winner, reference=reference
    )
    await card_shows(bot, card, staff_text(bot, "staff_status_claimed", owner=winner))
    assert db_rows(tmp_path, "select count(*) from lead_events where kind = 'claimed'") == [(1,)]


async def test_not_reached_released_and_done(bot: BotHarness, tmp_path: Path) -> None:
    reference = await book(bot, ANA, name="Ana Estado")
    card = await staff_card(bot, reference)
    await bot.staff_press(MARIA, card, button(bot, "take", reference))
    await card_shows(bot, card, staff_text(bot, "staff_status_claimed", owner="Maria"))
    for count in (1, 2):
        toast = await bot.staff_press(MARIA, card, button(bot, "unreached", reference))
        assert toast == staff_text(bot, "staff_toast_unreached", count=str(count))
    await card_shows(bot, card, staff_text(bot, "staff_unreached", count="2"))
    toast = await bot.staff_press(MARIA, card, button(bot, "release", reference))
    assert toast == staff_text(bot, "staff_toast_release", reference=reference)
    await card_shows(bot, card, staff_text(bot, "staff_status_received", owner="?"))
    await bot.staff_press(LUIS, card, button(bot, "take", reference))
    await card_shows(bot, card, staff_text(bot, "staff_status_claimed", owner="Luis"))
    toast = await bot.staff_press(LUIS, card, button(bot, "done", reference))
    assert toast == staff_text(bot, "staff_toast_done", reference=reference)
    await card_shows(bot, card, staff_text(bot, "staff_status_done", owner="Luis"))
    assert card.buttons == []  # nothing left to do
    mydata = (await bot.say(ANA, "/mydata"))[0]
    assert bot.knowledge.text("es", "status_done") in mydata.text
    kinds = db_rows(tmp_path, "select kind from lead_events order by id")
    assert [kind for (kind,) in kinds] == [
        "claimed",
        "unreached",
        "unreached",
        "released",
        "claimed",
        "done",
    ]


async def test_a_staff_button_outside_the_staff_chat_or_on_a_deleted_request_does_nothing(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    reference = await book(bot, BEN, name="Ben Fuera")
    card = await staff_card(bot, reference)
    take = button(bot, "take", reference)
    # Someone forwards the card to their own chat with the bot and presses.
    forwarded = SentMessage(card.message_id, BEN.id, card.text, card.reply_markup)
    await bot.handled(make_callback_update(BEN, forwarded, take, "forwarded"))
    (answer,) = [a for a in bot.api.callback_answers if a["callback_query_id"] == "forwarded"]
    assert answer["text"] == knowledge.text("en", "staff_only")
    assert staff_text(bot, "staff_status_received", owner="?") in card.text
    # The person asks to be forgotten; a press on the card as it was then finds nothing.
    old_card = SentMessage(card.message_id, STAFF_CHAT_ID, card.text, card.reply_markup)
    confirm = last(await bot.say(BEN, "/forget"))
    await bot.press(BEN, confirm, "b:forget:yes")
    toast = await bot.staff_press(MARIA, old_card, take)
    assert toast == staff_text(bot, "staff_toast_gone")


@pytest.mark.clock
async def test_an_urgent_request_nobody_takes_is_posted_again_once(
    bot: BotHarness, tmp_path: Path
) -> None:
    reference = await book_urgent(bot, BEN)
    card = await staff_card(bot, reference)
    before = len(bot.api.messages_to(STAFF_CHAT_ID))
    jobs = jobs_at(bot, lambda: datetime.now(UTC))
    await jobs.remind()  # not yet: it came in a moment ago
    db_write(tmp_path, "UPDATE leads SET created_at = datetime(created_at, '-11 minutes')")
    await jobs.remind()
    (reminder,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=before)
    assert reminder.text.startswith(staff_text(bot, "staff_reminder"))
    assert reference in reminder.text
    assert button(bot, "take", reference) in [data for _, data in reminder.buttons]
    await jobs.remind()  # once only
    # Taking it from the reminder updates both messages.
    await bot.staff_press(MARIA, reminder, button(bot, "take", reference))
    claimed = staff_text(bot, "staff_status_claimed", owner="Maria")
    await card_shows(bot, card, claimed)
    await card_shows(bot, reminder, claimed)
    assert len(bot.api.messages_to(STAFF_CHAT_ID)) == before + 1


@pytest.mark.clock
async def test_requests_open_too_long_are_listed_once_a_day(bot: BotHarness) -> None:
    booked = datetime.now(UTC)
    reference = await book(bot, ANA, name="Ana Espera")
    await staff_card(bot, reference)
    before = len(bot.api.messages_to(STAFF_CHAT_ID))
    writer = bot.services.runtime.dialogue.writer
    # The first day of the firm's that starts more than 24 hours after the booking, whatever
    # the hour the test runs at: the digest's clock is set from the booking, not the wall.
    day = writer.in_zone(booked + timedelta(hours=25)).date() + timedelta(days=1)

    def at(days: int, hour: int, minute: int = 0) -> Callable[[], datetime]:
        local = datetime.combine(day + timedelta(days=days), time(hour, minute))
        moment = local.replace(tzinfo=writer.in_zone(booked).tzinfo).astimezone(UTC)
        return lambda: moment

    async def digests_at(clock: Callable[[], datetime]) -> list[SentMessage]:
        seen = len(bot.api.messages_to(STAFF_CHAT_ID))
        await jobs_at(bot, clock).open_digest()  # posts before it returns
        return bot.api.messages_to(STAFF_CHAT_ID)[seen:]

    assert await digests_at(at(0, 8, 59)) == []  # not before 9:00
    (digest,) = await digests_at(at(0, 13))
    assert digest.text.startswith(staff_text(bot, "staff_open_digest", hours="24"))
    assert reference in digest.text
    assert "Ana Espera" not in digest.text  # references, not people
    assert await digests_at(at(0, 23, 30)) == []  # once a day
    (next_day,) = await digests_at(at(1, 9))
    assert reference in next_day.text
    assert len(bot.api.messages_to(STAFF_CHAT_ID)) == before + 2


async def test_leads_shows_status_and_owner_and_leads_open_the_unclaimed(
    bot: BotHarness,
) -> None:
    first = await book(bot, ANA, name="Ana Tomada")
    second = await book(bot, BEN, name="Ben Libre")
    await bot.staff_press(MARIA, await staff_card(bot, first), button(bot, "take", first))
    before = len(bot.api.messages_to(STAFF_CHAT_ID))
    await bot.handled(
        make_group_command_update(STAFF_CHAT_ID, MARIA, bot.api.next_message_id(), "/leads")
    )
    (listing,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=before)
    assert staff_text(bot, "staff_status_claimed", owner="Maria") in listing.text
    await bot.handled(
        make_group_command_update(STAFF_CHAT_ID, MARIA, bot.api.next_message_id(), "/leads open")
    )
    (unclaimed,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=before + 1)
    assert unclaimed.text.startswith(staff_text(bot, "staff_leads_open_header"))
    assert second in unclaimed.text
    assert first not in unclaimed.text


async def test_a_staff_members_private_chat_is_a_staff_chat(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> None:
    settings = make_settings(api, sqlite_url(tmp_path), bot_admin_chat_ids=(MARIA.id,))
    harness = BotHarness(api, settings, knowledge)
    await harness.start()
    try:
        reference = await book(harness, BEN, name="Ben Privado")
        (card,) = await api.wait_for_messages(MARIA.id, 1)
        assert reference in card.text
        toast = await harness.staff_press(MARIA, card, button(harness, "take", reference))
        assert toast == staff_text(harness, "staff_toast_take", reference=reference)
        await card_shows(harness, card, staff_text(harness, "staff_status_claimed", owner="Maria"))
        in_person_chat = len(api.messages_to(BEN.id))
        await harness.staff_reply(MARIA, card, "Can we call you at 10?")
        (relayed,) = await api.wait_for_messages(BEN.id, 1, after=in_person_chat)
        assert "Can we call you at 10?" in relayed.text
        (ack,) = await harness.say(BEN, "Yes please")
        assert ack.text == text_for(harness, BEN, "relay_sent", reference=reference)
        await api.wait_until(
            "the person's answer in the staff member's chat",
            lambda: any("Yes please" in m.text for m in api.messages_to(MARIA.id)),
        )
    finally:
        await harness.stop()


async def test_forget_while_the_card_is_being_sent_clears_it_once_it_lands(
    bot: BotHarness,
) -> None:
    bot.api.slow_sends_to[STAFF_CHAT_ID] = 1.5
    calls_before = len(bot.api.calls)
    reference = await book(bot, BEN, name="Ben Enviado", phone="(213) 555-0123")

    def card_on_its_way() -> bool:
        return any(
            method == "sendMessage" and str(params.get("chat_id")) == str(STAFF_CHAT_ID)
            for method, params in bot.api.calls[calls_before:]
        )

    for _ in range(100):
        if card_on_its_way():
            break
        await asyncio.sleep(0.02)
    assert card_on_its_way()
    assert bot.api.messages_to(STAFF_CHAT_ID) == []  # not landed yet
    confirm = last(await bot.say(BEN, "/forget"))
    (forgotten,) = await bot.press(BEN, confirm, "b:forget:yes")
    assert forgotten.text == text_for(bot, BEN, "forgotten")
    # By the time "Done" is read, the card that landed meanwhile shows only the reference.
    (card,) = bot.api.messages_to(STAFF_CHAT_ID)
    assert "Ben Enviado" not in card.text
    assert "0123" not in card.text
    assert card.text == staff_text(bot, "staff_gone", reference=reference)


# --- messages relayed both ways ----------------------------------------------------------------

PEOPLE = [pytest.param(BEN, id="person-en"), pytest.param(ANA, id="person-es")]


def first_line_of(bot: BotHarness, person: TelegramUser, reference: str) -> str:
    """The opening line of a message relayed from the firm, as the person sees it."""
    whole = text_for(bot, person, "relay_from_firm", reference=reference, text="", until="")
    return whole.split("\n")[0]


@pytest.mark.parametrize("person", PEOPLE)
async def test_a_staff_reply_reaches_the_person_as_the_firm_and_their_answer_comes_back(
    bot: BotHarness, person: TelegramUser, tmp_path: Path
) -> None:
    reference = await book(bot, person, name="Rosa Relevo")
    card = await staff_card(bot, reference)
    in_person_chat = len(bot.api.messages_to(person.id))
    in_staff_chat = len(bot.api.messages_to(STAFF_CHAT_ID))

    await bot.staff_reply(MARIA, card, "We can call you tomorrow at 10. Does that work?")
    (relayed,) = await bot.api.wait_for_messages(person.id, 1, after=in_person_chat)
    assert relayed.text.startswith(first_line_of(bot, person, reference))
    assert "We can call you tomorrow at 10. Does that work?" in relayed.text
    assert "Maria" not in relayed.text  # the staff member's account is never shown
    (sent,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=in_staff_chat)
    assert sent.text == staff_text(
        bot, "staff_sent", reference=reference, hours=str(bot.settings.relay_hours)
    )

    # Their next messages go to the staff, as replies to the request, not to the FAQ.
    (ack,) = await bot.say(person, "Yes, 10 is fine, my daughter will translate")
    assert ack.text == text_for(bot, person, "relay_sent", reference=reference)
    (back,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=in_staff_chat + 1)
    assert back.text == staff_text(
        bot, "staff_relay", reference=reference, text="Yes, 10 is fine, my daughter will translate"
    )
    assert back.reply_to == card.message_id
    (ack,) = await bot.say(person, "can I be deported?")
    assert ack.text == text_for(bot, person, "relay_sent", reference=reference)

    # /cancel: the bot answers questions again, and nothing more reaches the staff.
    (stopped,) = await bot.say(person, "/cancel")
    assert stopped.text.startswith(text_for(bot, person, "relay_stopped"))
    relays_so_far = len(bot.api.messages_to(STAFF_CHAT_ID))
    answer = last(await bot.say(person, "can I be deported?"))
    assert answer.text != text_for(bot, person, "relay_sent", reference=reference)
    await asyncio.sleep(0.3)
    assert len(bot.api.messages_to(STAFF_CHAT_ID)) == relays_so_far

    # Every relayed message is in the request's history, encrypted.
    events = db_rows(tmp_path, "select kind, text from lead_events order by id")
    assert [kind for kind, _ in events] == ["to_person", "from_person", "from_person"]
    for _, stored in events:
        assert isinstance(stored, bytes)
        assert b"tomorrow" not in stored
        assert b"daughter" not in stored
        assert b"deported" not in stored
    assert bot.api.errors == []


async def test_message_them_asks_for_the_text_and_done_ends_the_conversation(
    bot: BotHarness,
) -> None:
    reference = await book(bot, ANA, name="Ana Mensaje")
    card = await staff_card(bot, reference)
    before = len(bot.api.messages_to(STAFF_CHAT_ID))
    toast = await bot.staff_press(LUIS, card, button(bot, "message", reference))
    assert toast == staff_text(bot, "staff_toast_message")
    (prompt,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=before)
    assert prompt.text == staff_text(bot, "staff_prompt", reference=reference)
    assert prompt.reply_markup is not None
    assert prompt.reply_markup.get("force_reply")

    in_person_chat = len(bot.api.messages_to(ANA.id))
    await bot.staff_reply(LUIS, prompt, "Buenas tardes, ¿prefiere que la llamemos el lunes?")
    (relayed,) = await bot.api.wait_for_messages(ANA.id, 1, after=in_person_chat)
    assert "¿prefiere que la llamemos el lunes?" in relayed.text
    assert "Luis" not in relayed.text
    (ack,) = await bot.say(ANA, "El lunes está bien")
    assert ack.text == text_for(bot, ANA, "relay_sent", reference=reference)

    # Done closes the request: the person's messages go back to the FAQ.
    await bot.staff_press(LUIS, card, button(bot, "take", reference))
    await card_shows(bot, card, staff_text(bot, "staff_status_claimed", owner="Luis"))
    await bot.staff_press(LUIS, card, button(bot, "done", reference))
    await card_shows(bot, card, staff_text(bot, "staff_status_done", owner="Luis"))
    answer = last(await bot.say(ANA, "¿me pueden deportar?"))
    assert answer.text != text_for(bot, ANA, "relay_sent", reference=reference)
    # And a reply to a closed request is refused, not sent.
    at = len(bot.api.messages_to(STAFF_CHAT_ID))
    await bot.staff_reply(LUIS, card, "¿Sigue ahí?")
    (refused,) = await bot.api.wait_for_messages(STAFF_CHAT_ID, 1, after=at)
    closed = staff_text(bot, "staff_toast_closed", reference=reference)
    assert refused.text == staff_text(bot, "staff_reply_failed", reason=closed)
    assert "¿Sigue ahí?" not in "".join(m.text for m in bot.api.messages_to(ANA.id))


async def test_only_staff_chats_relay(bot: BotHarness) -> None:
    reference = await book(bot, BEN, name="Ben Solo")
    card = await staff_card(bot, reference)
    # A reply in a group that is not a staff chat (the bot was added somewhere else).
    other_group = -100999
    elsewhere = SentMessage(card.message_id, other_group, card.text, card.reply_markup)
    in_person_chat = len(bot.api.messages_to(BEN.id))
    await bot.staff_reply(MARIA, elsewhere, "I am not the firm")
    await asyncio.sleep(0.3)
    assert len(bot.api.messages_to(BEN.id)) == in_person_chat


# --- /forget reaching the staff chat -----------------------------------------------------------


@pytest.mark.clock
@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("bot_is_admin", [True, False], ids=["admin", "not-admin"])
async def test_forget_clears_the_person_from_every_staff_message(
    bot: BotHarness, person: TelegramUser, bot_is_admin: bool, tmp_path: Path
) -> None:
    """Privacy notice: "/forget deletes ... and clears your details from the staff's messages
    about your requests" (cards, digests, reminders, relayed messages)."""
    other = ANA if person is BEN else BEN
    if bot_is_admin:
        bot.api.admin_in.add(STAFF_CHAT_ID)
    # Two requests arrive while the notifier is down: they go out as one digest.
    notifier = bot.host.notifier
    await notifier.stop()
    mine = await book_urgent(bot, person)
    theirs = await book(
        bot, other, name="Otto Queda", topic="work permit renewal", phone="(310) 555-0199"
    )
    notifier.start()
    notifier.wake()
    digest = await staff_card(bot, mine)
    assert theirs in digest.text
    # Nobody takes the urgent one: it is posted again.
    db_write(tmp_path, "UPDATE leads SET created_at = datetime(created_at, '-11 minutes')")
    await jobs_at(bot, lambda: datetime.now(UTC)).remind()
    reminder_text = staff_text(bot, "staff_reminder")
    await bot.api.wait_until(
        "a reminder",
        lambda: any(m.text.startswith(reminder_text) for m in bot.api.messages_to(STAFF_CHAT_ID)),
    )
    reminder = next(
        m for m in bot.api.messages_to(STAFF_CHAT_ID) if m.text.startswith(reminder_text)
    )
    assert mine in reminder.text
    assert PHONE_DIGITS[-4:] in reminder.text
    # A staff member writes to the person, who answers.
    staff_words = "Zoe, we are calling your sister Elena now"
    in_person_chat = len(bot.api.messages_to(person.id))
    own_reply = await bot.staff_reply(MARIA, reminder, staff_words)
    await bot.api.wait_for_messages(person.id, 1, after=in_person_chat)
    await bot.say(person, "My name is Zoe Olvido, they took him to the Adelanto center")
    await bot.api.wait_until(
        "the person's answer in the staff chat",
        lambda: any("Adelanto" in text for text in bot.api.chat_shows(STAFF_CHAT_ID)),
    )

    confirm = last(await bot.say(person, "/forget"))
    bot.api.conditions.latency = (0.05, 0.08)  # each edit takes a moment, as on Telegram
    (forgotten,) = await bot.press(person, confirm, "b:forget:yes")
    assert forgotten.text == text_for(bot, person, "forgotten")

    # By the time the person reads "Done", the staff chat shows nothing of them.
    details = ("Zoe", PHONE_DIGITS[-4:], "Adelanto", CRISIS[person.language_code or "en"])
    shown = bot.api.chat_shows(STAFF_CHAT_ID)
    bots_own = [m.text for m in bot.api.messages_to(STAFF_CHAT_ID)]
    assert [text for text in bots_own if any(detail in text for detail in details)] == []
    # The other person's request is untouched in the digest they shared.
    assert "Otto Queda" in digest.text
    assert staff_text(bot, "staff_gone", reference=mine) in digest.text
    assert reminder.text == staff_text(bot, "staff_gone", reference=mine)
    if bot_is_admin:
        # The staff member's own message named the person: the bot deleted it.
        assert staff_words not in shown
    else:
        # The bot may not delete it: the staff are told which reference to delete by hand.
        assert staff_text(bot, "staff_manual_delete", reference=mine) in shown
        assert (STAFF_CHAT_ID, own_reply) in bot.api.member_messages
    # Nothing about the person is left to render or relay.
    assert db_rows(tmp_path, "select count(*) from leads where reference = ?", mine) == [(0,)]
    assert db_rows(tmp_path, "select count(*) from lead_events") == [(0,)]


async def test_long_and_marked_up_messages_are_relayed_whole_and_as_typed(
    bot: BotHarness,
) -> None:
    reference = await book(bot, BEN, name="Ben Largo")
    card = await staff_card(bot, reference)
    in_person_chat = len(bot.api.messages_to(BEN.id))
    # As long as Telegram lets a staff member write: with the firm's introduction, two messages.
    long_reply = "<b>Hola</b> & *hi* " + "palabra " * 495
    await bot.staff_reply(MARIA, card, long_reply)
    pieces = await bot.settle(BEN.id, in_person_chat, expect=2)
    received = "".join(piece.text for piece in pieces)
    assert "<b>Hola</b> & *hi* " in received
    assert received.count("palabra") == 495
    in_staff_chat = len(bot.api.messages_to(STAFF_CHAT_ID))
    # As long as Telegram lets a person write: in numbered parts, nothing cut.
    for whole, word in (("🙂" * 4096, "🙂"), ("cuenta " * 585, "cuenta")):
        (ack,) = await bot.say(BEN, whole)
        assert ack.text == text_for(bot, BEN, "relay_sent", reference=reference)
        parts = await bot.settle(STAFF_CHAT_ID, in_staff_chat, expect=2)
        assert [
            part.text.startswith(f"💬 {reference} ({i}/2)") for i, part in enumerate(parts, 1)
        ] == [True, True]
        assert sum(part.text.count(word) for part in parts) == whole.count(word)
        in_staff_chat += len(parts)
    assert bot.api.errors == []


async def test_no_personal_data_in_logs_through_the_staff_side(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reference = await book(bot, BEN, name="Benedict Secretname", topic="secret topic words")
    card = await staff_card(bot, reference)
    await bot.staff_press(MARIA, card, button(bot, "take", reference))
    in_person_chat = len(bot.api.messages_to(BEN.id))
    await bot.staff_reply(MARIA, card, "Benedict, private words from the firm")
    await bot.api.wait_for_messages(BEN.id, 1, after=in_person_chat)
    await bot.say(BEN, "private words back to the firm")
    confirm = last(await bot.say(BEN, "/forget"))
    await bot.press(BEN, confirm, "b:forget:yes")
    await bot.api.wait_until(
        "the staff asked to delete by hand",
        lambda: (
            staff_text(bot, "staff_manual_delete", reference=reference)
            in bot.api.chat_shows(STAFF_CHAT_ID)
        ),
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += "\n".join(str(record.args) for record in caplog.records)
    for secret in ("Secretname", "Benedict", "secret topic", "private words", "Maria", "0147"):
        assert secret not in logged, secret


@pytest.mark.clock
async def test_leads_export_has_status_owner_and_history(bot: BotHarness, tmp_path: Path) -> None:
    reference = await book(bot, ANA, name="Ana Exporta")
    card = await staff_card(bot, reference)
    await bot.staff_press(MARIA, card, button(bot, "take", reference))
    await bot.staff_press(MARIA, card, button(bot, "unreached", reference))
    in_person_chat = len(bot.api.messages_to(ANA.id))
    await bot.staff_reply(MARIA, card, "La llamamos el lunes")
    await bot.api.wait_for_messages(ANA.id, 1, after=in_person_chat)
    await bot.say(ANA, "Gracias, el lunes está bien")
    environment = {
        **os.environ,
        "DATABASE_URL": sqlite_url(tmp_path),
        "BOT_DATA_KEY": DATA_KEY,
        "PYTHONIOENCODING": "utf-8",
    }
    exported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "leads", "export", "--format", "json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    (lead,) = json.loads(exported.stdout)
    assert lead["reference"] == reference
    assert (lead["status"], lead["owner"], lead["unreached"]) == ("claimed", "Maria", 1)
    history = [(event["kind"], event["actor"], event["text"]) for event in lead["history"]]
    assert history == [
        ("claimed", "Maria", None),
        ("unreached", "Maria", None),
        ("to_person", "Maria", "La llamamos el lunes"),
        ("from_person", None, "Gracias, el lunes está bien"),
    ]
    assert all(event["at"] for event in lead["history"])
