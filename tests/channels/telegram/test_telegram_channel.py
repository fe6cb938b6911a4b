"""End to end: the real python-telegram-bot Application, over real HTTP, against our fake
Bot API server; tests act as users and staff and assert on what they receive and on what
the database holds."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.faq.knowledge import Knowledge, Language
from bot.host.jobs import Jobs
from tests.auxil.conversations import (
    EMAIL,
    PHONE_DIGITS,
    PHONE_TYPED,
    book,
    db_rows,
    fill_form,
    last,
    reference_in,
)
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.harness import BotHarness, make_settings, sqlite_url
from tests.auxil.telegram_users import (
    ANA,
    BEN,
    CARLA,
    STAFF_CHAT_ID,
    TelegramUser,
    make_edited_update,
    make_group_command_update,
    make_location_update,
    make_sticker_update,
    make_text_update,
)


async def test_start_in_spanish_and_english(bot: BotHarness, knowledge: Knowledge) -> None:
    (spanish,) = await bot.say(ANA, "/start")
    assert knowledge.text("es", "welcome") in spanish.text
    assert [data for _, data in spanish.buttons] == ["ask", "topics", "book", "lang"]
    (english,) = await bot.say(BEN, "/start")
    assert knowledge.text("en", "welcome") in english.text
    assert bot.api.errors == []


async def test_commands_menu_is_published_in_both_languages(bot: BotHarness) -> None:
    assert {c["command"] for c in bot.api.commands["es"]} >= {"start", "book", "forget"}
    assert bot.api.commands["es"][0]["description"] != bot.api.commands["en"][0]["description"]
    assert bot.api.commands[""] == bot.api.commands["en"]


async def test_booking_by_phone_reaches_the_staff_once(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    consent = last(await bot.say(BEN, "I want to talk to a lawyer"))
    contact_prompt = last(await bot.press(BEN, consent, "b:consent:yes"))
    assert contact_prompt.text == knowledge.texts["en"]["ask_contact"]
    assert contact_prompt.asks_for_contact
    (name_prompt,) = await bot.say(BEN, PHONE_TYPED)
    assert name_prompt.text == knowledge.texts["en"]["ask_name"]
    assert name_prompt.removed_keyboard  # the name's question takes the keyboard away
    assert not any(method == "editMessageReplyMarkup" for method, _ in bot.api.calls)
    voicemail = last(await bot.say(BEN, "Ben <b>Tester</b> & co"))
    assert len(voicemail.buttons) == 2
    await bot.press(BEN, voicemail, "b:voicemail:yes")
    summary = last(await bot.say(BEN, "questions about SB 54"))
    assert "Ben <b>Tester</b> & co" in summary.text
    assert "+12135550147" in summary.text
    staff_before = len(bot.api.messages_to(STAFF_CHAT_ID))
    booked = last(await bot.press(BEN, summary, "b:confirm:yes"))
    assert "C-" in booked.text
    reference = booked.text.split("C-", 1)[1][:6]
    (notice,) = await bot.settle(STAFF_CHAT_ID, staff_before)
    assert f"C-{reference}" in notice.text
    assert "+12135550147" in notice.text
    assert "Ben <b>Tester</b> & co" in notice.text
    assert bot.api.errors == []


# --- helpers ---------------------------------------------------------------------------------


# --- commands in both languages ------------------------------------------------------------------

_BOTH_LANGUAGES: tuple[tuple[TelegramUser, Language], ...] = ((ANA, "es"), (BEN, "en"))


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ("/help", "help"),
        ("/topics", "topics_header"),
        ("/language", "language_prompt"),
        ("/cancel", "nothing_to_cancel"),
        ("/mydata", "mydata_nothing"),
        ("/forget", "forget_confirm"),
        ("/nonsense", "unknown_command"),
    ],
)
async def test_each_command_in_both_languages(
    bot: BotHarness, knowledge: Knowledge, command: str, key: str
) -> None:
    for user, language in _BOTH_LANGUAGES:
        reply = last(await bot.say(user, command))
        assert reply.text == knowledge.texts[language][key]
    assert bot.api.errors == []


async def test_privacy_and_book_commands_in_both_languages(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    for user, language in _BOTH_LANGUAGES:
        privacy = last(await bot.say(user, "/privacy"))
        assert privacy.text.startswith(knowledge.texts[language]["privacy"][:20])
        assert "90" in privacy.text
        consent = last(await bot.say(user, "/book"))
        assert consent.text.startswith(knowledge.texts[language]["consent_request"][:30])


async def test_language_switch_is_remembered(bot: BotHarness, knowledge: Knowledge) -> None:
    prompt = last(await bot.say(BEN, "/language"))
    await bot.press(BEN, prompt, "lang:es")
    reply = last(await bot.say(BEN, "/help"))
    assert reply.text == knowledge.texts["es"]["help"]


# --- answers -----------------------------------------------------------------------------------


async def test_answer_suggest_and_fallback(
    bot: BotHarness, knowledge: Knowledge, tmp_path: Path
) -> None:
    answer = last(await bot.say(BEN, "can the LAPD help ICE?"))
    assert answer.text.startswith(knowledge.answer("police-and-deportations", "en"))
    assert answer.buttons[-1][1] == "book"
    related = await bot.press(BEN, answer, answer.buttons[0][1])
    assert related[0].text.startswith("No") or related[0].text
    suggestion = last(await bot.say(ANA, "ice"))
    assert suggestion.text == knowledge.texts["es"]["suggest_header"]
    fallback = last(await bot.press(ANA, suggestion, "none"))
    assert knowledge.firm.phone in fallback.text
    direct = last(await bot.say(BEN, "How do I get a green card? call 213-555-0199"))
    assert knowledge.firm.phone in direct.text
    assert len(db_rows(tmp_path, "select text from unanswered")) == 2


async def test_urgent_message_first_gives_the_phone(bot: BotHarness, knowledge: Knowledge) -> None:
    urgent = last(await bot.say(ANA, "la migra está afuera de mi casa!!"))
    assert urgent.text == knowledge.text("es", "urgent")
    assert urgent.text.splitlines()[0].endswith(knowledge.firm.phone)
    assert [data for _, data in urgent.buttons] == ["urgent"]
    consent = last(await bot.press(ANA, urgent, "urgent"))
    assert consent.text.startswith(knowledge.texts["es"]["urgent_consent_request"][:30])


# --- booking -----------------------------------------------------------------------------------


async def test_booking_by_email(bot: BotHarness, tmp_path: Path) -> None:
    staff_before = len(bot.api.messages_to(STAFF_CHAT_ID))
    reference = await book(bot, BEN, contact="email", topic=None)
    (notice,) = await bot.settle(STAFF_CHAT_ID, staff_before)
    assert reference in notice.text
    assert EMAIL in notice.text
    assert db_rows(tmp_path, "select reference, urgent from leads") == [(reference, 0)]


async def test_booking_by_shared_contact(bot: BotHarness) -> None:
    staff_before = len(bot.api.messages_to(STAFF_CHAT_ID))
    reference = await book(bot, ANA, contact="shared")
    (notice,) = await bot.settle(STAFF_CHAT_ID, staff_before)
    assert reference in notice.text
    assert "+12135550147" in notice.text
    assert "Español" in notice.text


async def test_someone_elses_contact_is_refused(bot: BotHarness, knowledge: Knowledge) -> None:
    consent = last(await bot.say(BEN, "/book"))
    await bot.press(BEN, consent, "b:consent:yes")
    refused = last(await bot.share_contact(BEN, "+12135550199", owner_id=ANA.id))
    assert refused.text == knowledge.texts["en"]["contact_not_yours"]
    no_owner = last(await bot.share_contact(BEN, "+12135550199", owner_id=None))
    assert no_owner.text == knowledge.texts["en"]["contact_not_yours"]
    accepted = last(await bot.share_contact(BEN, "+12135550147", owner_id=BEN.id))
    assert accepted.text == knowledge.texts["en"]["ask_name"]
    assert accepted.removed_keyboard


@pytest.mark.parametrize(
    ("step_inputs", "bad", "key"),
    [
        ([EMAIL], "12345", "name_invalid"),
        ([EMAIL], "x" * 101, "name_too_long"),
        ([], "12", "phone_length"),
        ([], "call me at 5", "phone_invalid"),
        ([], "call me maybe", "contact_invalid"),
        ([], "+999 1234 5678", "phone_country"),
        ([], "ben@", "email_invalid"),
        ([], "ben at example dot org", "contact_invalid"),
    ],
)
async def test_each_invalid_input_gets_a_specific_message(
    bot: BotHarness, knowledge: Knowledge, step_inputs: list[str], bad: str, key: str
) -> None:
    prompt = last(await bot.say(BEN, "/book"))
    prompt = last(await bot.press(BEN, prompt, "b:consent:yes"))
    for value in step_inputs:
        if value.startswith("b:"):
            prompt = last(await bot.press(BEN, prompt, value))
        else:
            prompt = last(await bot.say(BEN, value))
    reply = last(await bot.say(BEN, bad))
    assert reply.text == knowledge.texts["en"][key]
    assert bot.api.errors == []


async def test_a_topic_too_long_on_the_summary_then_confirmed_without(
    bot: BotHarness, knowledge: Knowledge, tmp_path: Path
) -> None:
    prompt = last(await bot.say(BEN, "/book"))
    await bot.press(BEN, prompt, "b:consent:yes")
    await bot.say(BEN, EMAIL)
    summary = last(await bot.say(BEN, "Ben"))
    assert knowledge.texts["en"]["summary_topic_offer"] in summary.text
    too_long = last(await bot.say(BEN, "a" * 501))
    assert too_long.text == knowledge.texts["en"]["topic_too_long"]
    booked = last(await bot.press(BEN, summary, "b:confirm:yes"))
    assert db_rows(tmp_path, "select reference from leads") == [(reference_in(booked),)]


async def test_three_invalid_phones_offer_the_firm_phone(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    prompt = last(await bot.say(ANA, "/book"))
    await bot.press(ANA, prompt, "b:consent:yes")
    for _ in range(2):
        retry = last(await bot.say(ANA, "12"))
        assert retry.asks_for_contact  # the share button stays for the next try
    wrong, way_out = await bot.say(ANA, "12", expect=2)
    assert wrong.text == knowledge.texts["es"]["phone_length"]
    assert wrong.removed_keyboard
    assert knowledge.firm.phone in way_out.text
    cancelled = last(await bot.press(ANA, way_out, "b:contact:cancel"))
    assert cancelled.text == knowledge.texts["es"]["cancelled"]


async def test_cancel_at_each_step_stores_nothing(
    bot: BotHarness, knowledge: Knowledge, tmp_path: Path
) -> None:
    script: list[str] = [
        "/book",
        "b:consent:yes",
        PHONE_TYPED,
        "Cancelling Person",
        "b:voicemail:yes",
        "a topic",
    ]
    for steps in range(1, len(script) + 1):
        user = TelegramUser(7700000 + steps, "Tester", "en")
        prompt: SentMessage | None = None
        for value in script[:steps]:
            if value.startswith("b:"):
                assert prompt is not None
                prompt = last(await bot.press(user, prompt, value))
            else:
                prompt = last(await bot.say(user, value))
        cancelled = last(await bot.say(user, "/cancel"))
        assert cancelled.text == knowledge.texts["en"]["cancelled"], steps
    assert db_rows(tmp_path, "select count(*) from leads") == [(0,)]
    assert bot.api.messages_to(STAFF_CHAT_ID) == []


async def test_second_booking_updates_the_first(bot: BotHarness, tmp_path: Path) -> None:
    reference = await book(bot, BEN)
    offer = last(await bot.say(BEN, "/book"))
    assert reference in offer.text
    consent = last(await bot.press(BEN, offer, "b:update:yes"))
    summary = await fill_form(bot, BEN, consent, contact="email", name="Ben Updated", topic=None)
    staff_before = len(bot.api.messages_to(STAFF_CHAT_ID))
    updated = last(await bot.press(BEN, summary, "b:confirm:yes"))
    assert reference in updated.text
    (notice,) = await bot.settle(STAFF_CHAT_ID, staff_before)
    assert "Updated" in notice.text
    assert reference in notice.text
    assert db_rows(tmp_path, "select count(*) from leads") == [(1,)]


async def test_restart_in_the_middle_of_a_booking(bot: BotHarness, tmp_path: Path) -> None:
    consent = last(await bot.say(ANA, "/book"))
    await bot.press(ANA, consent, "b:consent:yes")
    await bot.say(ANA, PHONE_TYPED)
    voicemail = last(await bot.say(ANA, "Ana Reinicio"))
    await bot.restart()  # a new Application on the same database
    summary = last(await bot.press(ANA, voicemail, "b:voicemail:yes"))
    assert "Ana Reinicio" in summary.text
    await bot.press(ANA, summary, "b:confirm:yes")
    notices = await bot.settle(STAFF_CHAT_ID, 0)
    await bot.restart()
    await bot.say(BEN, "/start")
    await bot.settle(STAFF_CHAT_ID, len(notices), expect=0)
    assert len(bot.api.messages_to(STAFF_CHAT_ID)) == 1
    assert db_rows(tmp_path, "select count(*) from outbox where sent_at is not null") == [(1,)]


@pytest.mark.clock
async def test_an_abandoned_draft_is_shown_then_deleted_by_the_periodic_job(
    bot: BotHarness, tmp_path: Path, knowledge: Knowledge
) -> None:
    consent = last(await bot.say(ANA, "/book"))
    await bot.press(ANA, consent, "b:consent:yes")
    report, asked_again = await bot.say(ANA, "/mydata", expect=2)
    assert knowledge.texts["es"]["mydata_draft"] in report.text
    assert asked_again.text == knowledge.texts["es"]["ask_contact"]
    stored = db_rows(tmp_path, "select state from sessions where draft_expires_at is not null")
    assert len(stored) == 1
    later = datetime.now(UTC) + timedelta(minutes=bot.settings.booking_timeout_minutes + 1)
    services = bot.services
    jobs = Jobs(
        services.runtime.service,
        retention=timedelta(days=90),
        redeliver=_no_redelivery,
        clock=lambda: later,
    )
    await jobs.expire_drafts()  # no message from Ana needed
    assert db_rows(
        tmp_path, "select count(*) from sessions where draft_expires_at is not null"
    ) == [(0,)]
    assert db_rows(tmp_path, "select state from sessions") != stored
    after = last(await bot.say(ANA, "/mydata")).text
    assert knowledge.texts["es"]["mydata_draft"] not in after
    assert "Ana Abandona" not in after


async def _no_redelivery(_chat_key: str) -> None:
    return None


# --- stale and repeated buttons, odd messages ------------------------------------------------


async def test_stale_button_and_double_tap(bot: BotHarness, knowledge: Knowledge) -> None:
    consent = last(await bot.say(BEN, "/book"))
    await bot.press(BEN, consent, "b:consent:yes")
    again = await bot.press(BEN, consent, "b:consent:yes", expect=0)
    assert again == []
    assert bot.api.callback_answers[-1].get("text") == knowledge.texts["en"]["duplicate_tap"]
    await bot.say(BEN, "/cancel")
    stale = await bot.press(BEN, consent, "b:consent:no")
    assert stale[0].text == knowledge.texts["en"]["stale_button"]
    assert len(bot.api.callback_answers) == 3


async def test_unreadable_messages_get_a_kind_reply(bot: BotHarness, knowledge: Knowledge) -> None:
    for update in (
        make_sticker_update(BEN, bot.api.next_message_id()),
        make_location_update(BEN, bot.api.next_message_id()),
    ):
        reply = last(await bot.send_raw(BEN, update))
        assert reply.text == knowledge.texts["en"]["unsupported_message"]
    edited = last(await bot.send_raw(BEN, make_edited_update(BEN, 1, "changed")))
    assert edited.text == knowledge.texts["en"]["edited_message"]
    stray = last(await bot.share_contact(BEN, "+12135550147", BEN.id))
    assert stray.text == knowledge.texts["en"]["contact_unexpected"]


HOSTILE = [
    "😀" * 4096,
    "a" * 4096,
    "<b>bold</b> <script>alert(1)</script>",
    "&amp; &lt; & < > \" '",
    "*bold* _it_ [link](http://x) `code` ~strike~ ||spoiler|| \\",
    "'; DROP TABLE leads; --",
    "1 OR 1=1",
    "\u200b\u200b\u200b",
    "\u202eevil right to left\u202c",
    "مرحبا كيف حالك",
    "   \n\t  ",
    "/",
    "//start",
    "/start@firm_bot",
    "/book@other_bot extra args",
    "\x00\x01\x02",
    "%s %d {0} {name} {phone}",
    "🇺🇸🇲🇽" * 100,
    "ICE " * 1000,
    "<" * 4000,
    "&" * 4000,
    "\\" * 4000,
    "null",
    "None",
    "undefined",
    "NaN",
    "../../etc/passwd",
    "${jndi:ldap://x}",
    "<a href='javascript:alert(1)'>x</a>",
    "</b>",
    "<tg-spoiler>",
    "🙂",
    "?",
    ".",
    "0",
    "-1",
    "+1",
    "9" * 200,
    "la migra " * 300,
    "SB 54 " * 500,
    "Ω≈ç√∫˜µ≤≥÷",
    "𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐",
    "\r\n\r\n",
    "ＡＢＣ１２３",
    "ﷺ" * 50,
    "👨‍👩‍👧‍👦" * 300,
    "te" + "\u0301" * 500,
    "call me at 213-555-0147 or mail x@y.co",
    "<i>unclosed",
    "&#x1F600; &#128512;",
]


async def test_fifty_hostile_messages_all_get_replies_and_no_api_errors(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> None:
    assert len(HOSTILE) == 50
    settings = make_settings(api, sqlite_url(tmp_path), flood_limit_per_minute=100)
    bot = BotHarness(api, settings, knowledge)
    await bot.start()
    try:
        for text in HOSTILE:
            replies = await bot.say(CARLA, text)
            assert replies, repr(text[:40])
            for reply in replies:
                assert reply.text.strip()
        assert bot.api.errors == []
    finally:
        await bot.stop()


async def test_a_flood_gets_one_notice_then_silence(bot: BotHarness, knowledge: Knowledge) -> None:
    limit = bot.settings.flood_limit_per_minute
    for number in range(limit):
        assert await bot.say(CARLA, f"sb54 {number}")
    (notice,) = await bot.say(CARLA, "sb54 again")
    assert notice.text == knowledge.text("en", "flood_notice")
    assert await bot.say(CARLA, "sb54 once more", expect=0) == []
    # The others are not held back.
    assert await bot.say(BEN, "sb54?")


# --- privacy -----------------------------------------------------------------------------------


async def test_forget_leaves_nothing_of_the_user(
    bot: BotHarness, knowledge: Knowledge, tmp_path: Path
) -> None:
    await book(bot, ANA)
    await bot.say(ANA, "¿cómo renuevo mi DACA?")
    await book(bot, BEN, contact="email")
    mydata = last(await bot.say(ANA, "/mydata"))
    assert "Ana Prueba" in mydata.text
    assert "+12135550147" in mydata.text
    confirm = last(await bot.say(ANA, "/forget"))
    done = last(await bot.press(ANA, confirm, "b:forget:yes"))
    assert done.text == knowledge.texts["es"]["forgotten"]
    services = bot.services
    chat_key = services.runtime.service.chat_key(ANA.id)
    user_key = services.runtime.service.user_key(ANA.id)
    assert db_rows(tmp_path, "select count(*) from sessions where chat_key = ?", chat_key) == [
        (0,)
    ]
    assert db_rows(tmp_path, "select count(*) from leads where user_key = ?", user_key) == [(0,)]
    assert db_rows(tmp_path, "select count(*) from unanswered where user_key = ?", user_key) == [
        (0,)
    ]
    assert db_rows(tmp_path, "select count(*) from leads") == [(1,)]  # Ben's stays
    assert db_rows(tmp_path, "select count(*) from outbox") == [(1,)]
    nothing = last(await bot.say(ANA, "/mydata"))
    assert nothing.text == knowledge.texts["es"]["mydata_nothing"]


async def test_database_file_reveals_no_contact_data(bot: BotHarness, tmp_path: Path) -> None:
    await book(bot, ANA, name="Zacarías Unique")
    await book(bot, BEN, contact="email", topic="my very private topic")
    await bot.say(CARLA, "can I get asylum? my email is carla.private@example.net")
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("bot.sqlite3*"))
    for secret in (
        PHONE_DIGITS,
        "213-555",
        "+1213",
        EMAIL,
        "carla.private",
        "Zacar",
        "private topic",
        "asylum",
    ):
        assert secret.encode() not in raw, secret


async def test_no_personal_data_or_token_in_logs(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot.api.failures_left[BEN.id] = 10  # Telegram keeps failing: the reply cannot go out now
    assert await bot.say(BEN, "hello there, I am Benedict Secretname", expect=0) == []
    bot.api.failures_left[BEN.id] = 0
    owed, *_ = await bot.say(BEN, "/start")  # the owed reply comes first, then the new one
    assert owed.text == bot.knowledge.text("en", "fallback")
    await book(bot, BEN, name="Benedict Secretname", contact="email", topic="secret topic words")
    confirm = last(await bot.say(BEN, "/forget"))
    await bot.press(BEN, confirm, "b:forget:yes")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += "\n".join(str(record.args) for record in caplog.records)
    assert "could not be delivered" in logged
    for secret in ("Secretname", EMAIL, "secret topic", "hello there", bot.api.token, "123456:"):
        assert secret not in logged, secret


# --- staff -------------------------------------------------------------------------------------


async def test_admin_commands_only_for_the_staff_chat(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    reference = await book(bot, ANA)
    await bot.say(BEN, "how much does a visa cost?")
    refused = last(await bot.say(BEN, "/leads"))
    assert refused.text == knowledge.texts["en"]["unknown_command"]
    before = len(bot.api.messages_to(STAFF_CHAT_ID))
    for command in ("/leads", "/unanswered", "/stats"):
        await bot.api.push(
            make_group_command_update(STAFF_CHAT_ID, BEN, bot.api.next_message_id(), command)
        )
    replies = await bot.settle(STAFF_CHAT_ID, before, expect=3)
    texts = [reply.text for reply in replies]
    assert any(reference in text for text in texts)
    assert not any("Ana Prueba" in text for text in texts)  # /leads names no one
    assert any("how much does a visa cost?" in text for text in texts)
    assert any(text.startswith("Questions: ") for text in texts)


async def test_failed_staff_delivery_is_retried_and_blocked_chat_given_up(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> None:
    blocked_chat = -100888
    settings = make_settings(
        api,
        sqlite_url(tmp_path),
        bot_admin_chat_ids=(STAFF_CHAT_ID, blocked_chat),
        notify_retry_seconds=0.2,
    )
    harness = BotHarness(api, settings, knowledge)
    await harness.start()
    try:
        api.failures_left[STAFF_CHAT_ID] = 2  # two 5xx answers, retried by the rate limiter
        api.blocked_chats.add(blocked_chat)
        reference = await book(harness, BEN)
        (notice,) = await harness.settle(STAFF_CHAT_ID, 0)
        assert reference in notice.text
        await asyncio.sleep(1.0)

        def calls_to(chat_id: int) -> int:
            return sum(
                1
                for method, params in api.calls
                if method == "sendMessage" and int(params["chat_id"]) == chat_id
            )

        assert calls_to(blocked_chat) == 1  # 403: given up at once
        assert calls_to(STAFF_CHAT_ID) == 3
        assert db_rows(tmp_path, "select count(*) from outbox where failed is not null") == [(1,)]
        assert db_rows(tmp_path, "select count(*) from outbox where sent_at is not null") == [(1,)]
    finally:
        await harness.stop()


async def test_without_admin_chats_leads_stay_in_the_database(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    harness = BotHarness(api, make_settings(api, sqlite_url(tmp_path)), knowledge)
    await harness.start()
    try:
        assert "BOT_ADMIN_CHAT_IDS is not set" in caplog.text
        await book(harness, ANA)
        assert db_rows(tmp_path, "select count(*) from leads") == [(1,)]
        assert db_rows(tmp_path, "select count(*) from outbox") == [(0,)]
    finally:
        await harness.stop()


# --- order and concurrency ----------------------------------------------------------------------


async def test_one_chat_in_order_many_chats_concurrently(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    # Telegram answers slowly and unevenly: a reply held up must not be overtaken.
    bot.api.conditions.latency = (0.01, 0.12)
    questions = ["sb54?", "can the LAPD help ICE?", "who reported this?"]
    expected = ["california-sb54", "police-and-deportations", "news-source"]
    users = [TelegramUser(8800000 + n, f"User{n}", "en") for n in range(5)]
    for user in users:
        for question in questions:
            await bot.api.push(make_text_update(user, bot.api.next_message_id(), question))
    for user in users:
        replies = await bot.api.wait_for_messages(user.id, 3, timeout=30)
        for reply, entry in zip(replies, expected, strict=True):
            assert reply.text.startswith(knowledge.answer(entry, "en"))


async def test_urgent_booking_is_flagged_for_the_staff(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    """From the crisis message to the staff: six actions, the phone first, marked urgent."""
    urgent = last(await bot.say(BEN, "my husband was detained by ICE this morning"))  # 1
    assert urgent.text.splitlines()[0].endswith(knowledge.firm.phone)
    consent = last(await bot.press(BEN, urgent, "urgent"))  # 2
    phone = last(await bot.press(BEN, consent, "b:consent:yes"))  # 3
    assert phone.asks_for_contact
    noted, voicemail = await bot.say(BEN, PHONE_TYPED)  # 4
    # The voicemail buttons cannot take the share keyboard away: the number as understood does.
    assert noted.removed_keyboard
    assert noted.text == knowledge.text("en", "contact_noted", contact="+12135550147")
    summary = last(await bot.press(BEN, voicemail, "b:voicemail:no"))  # 5
    assert "+12135550147" in summary.text
    booked = last(await bot.press(BEN, summary, "b:confirm:yes"))  # 6
    assert knowledge.firm.phone in booked.text
    (notice,) = await bot.settle(STAFF_CHAT_ID, 0)
    assert notice.text.startswith("🚨 URGENT New consultation request C-")
    assert "+12135550147" in notice.text
    assert knowledge.texts["en"]["voicemail_no"] in notice.text
    assert bot.api.errors == []


# --- a booking in six actions, read as a person reads it ---------------------------------------

ASK_FOR_A_LAWYER = {"en": "I want to talk to a lawyer", "es": "Quiero hablar con un abogado"}
MAX_BOOKING_ACTIONS = 6


async def _book_by_reading(
    bot: BotHarness, user: TelegramUser, contact: str, name: str
) -> tuple[str, int, SentMessage]:
    """Book as a person does, from what each prompt says and the buttons under it, whatever
    their order; return the reference, the actions taken and the summary confirmed."""
    language: Language = "es" if user.language_code == "es" else "en"
    texts = bot.knowledge.texts[language]
    message = last(await bot.say(user, ASK_FOR_A_LAWYER[language]))
    actions = 1
    summary: SentMessage | None = None
    while not re.search(r"C-[A-Z0-9]{6}", message.text):
        assert actions < MAX_BOOKING_ACTIONS + 1, message.text
        buttons = {data for _, data in message.buttons}
        if "b:consent:yes" in buttons:
            message = last(await bot.press(user, message, "b:consent:yes"))
        elif message.text == texts["ask_contact"]:
            assert message.asks_for_contact
            message = last(await bot.say(user, contact))
        elif message.text == texts["ask_name"]:
            message = last(await bot.say(user, name))
        elif "b:voicemail:no" in buttons:
            message = last(await bot.press(user, message, "b:voicemail:no"))
        elif "b:confirm:yes" in buttons:
            summary = message
            message = last(await bot.press(user, message, "b:confirm:yes"))
        else:
            raise AssertionError(f"no way on from {message.text!r} {sorted(buttons)}")
        actions += 1
    assert summary is not None
    return reference_in(message), actions, summary


@pytest.mark.parametrize("user", [ANA, BEN], ids=["es", "en"])
@pytest.mark.parametrize(
    ("contact", "shown", "most"),
    [(PHONE_TYPED, "+12135550147", 6), (EMAIL, EMAIL, 5)],
    ids=["phone", "email"],
)
async def test_a_booking_takes_at_most_six_actions_in_each_language(
    bot: BotHarness,
    knowledge: Knowledge,
    tmp_path: Path,
    user: TelegramUser,
    contact: str,
    shown: str,
    most: int,
) -> None:
    """Ask, agree, phone or email, name, voicemail (a phone only), confirm."""
    reference, actions, summary = await _book_by_reading(bot, user, contact, "Rosa Seis")
    assert actions == most
    language: Language = "es" if user is ANA else "en"
    assert shown in summary.text
    assert "Rosa Seis" in summary.text
    # Nothing the firm has not confirmed: no hours, no call window.
    assert knowledge.firm.hours[language] not in summary.text
    sent = [message.text for message in bot.api.messages_to(user.id)]
    assert knowledge.texts[language]["noted"] not in sent  # no message that carries nothing
    (notice,) = await bot.settle(STAFF_CHAT_ID, 0)
    assert reference in notice.text
    assert shown in notice.text
    assert db_rows(tmp_path, "select reference from leads") == [(reference,)]


@pytest.mark.parametrize(
    ("field", "answer", "shown"),
    [
        ("name", "Rosa Corregida", "Rosa Corregida"),
        ("contact", "rosa@example.org", "rosa@example.org"),
        ("voicemail", "b:voicemail:yes", "voicemail_yes"),
        ("topic", "a work permit", "a work permit"),
    ],
)
async def test_change_something_goes_to_the_one_field_and_back_to_the_summary(
    bot: BotHarness, knowledge: Knowledge, field: str, answer: str, shown: str
) -> None:
    consent = last(await bot.say(ANA, "/book"))
    summary = await fill_form(bot, ANA, consent, name="Rosa Antes", topic=None)
    change = last(await bot.press(ANA, summary, "b:confirm:change"))
    offered = [data for _, data in change.buttons]
    assert offered == [f"b:change:{f}" for f in ("name", "contact", "voicemail", "topic")]
    field_prompt = last(await bot.press(ANA, change, f"b:change:{field}"))
    if answer.startswith("b:"):
        after = await bot.press(ANA, field_prompt, answer)
    else:
        after = await bot.say(ANA, answer, expect=2 if field == "contact" else 1)
    back = last(after)
    assert [data for _, data in back.buttons] == [
        "b:confirm:yes",
        "b:confirm:change",
        "b:confirm:cancel",
    ]
    assert knowledge.texts["es"].get(shown, shown) in back.text
    booked = last(await bot.press(ANA, back, "b:confirm:yes"))
    (notice,) = await bot.settle(STAFF_CHAT_ID, 0)
    assert reference_in(booked) in notice.text
    assert knowledge.texts["en"].get(shown, shown) in notice.text  # the staff read English
