"""Every promise the privacy notice makes, held by a test that fails when the behaviour is gone.

`PROMISES` names each paragraph and bullet of /privacy that states what the bot does, by a
fragment of it in English and Spanish; each test below is marked with the promise it holds.
`test_every_line_of_the_notice_is_a_promise_held_here_or_states_no_behaviour` reads the notice
as a person gets it, so that a sentence added to it without a test, or a test left behind when
its sentence goes, fails the suite. The same promises in the consent requests are checked there
too. /forget reaching the staff chat is held end to end in `tests/staff/test_staff.py`
(`test_forget_clears_the_person_from_every_staff_message`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from bot.dialogue import (
    QUESTION_PREFIX,
    URGENT_BOOK,
    ButtonPress,
    Command,
    Dialogue,
    Event,
    SessionState,
)
from bot.faq.knowledge import LANGUAGES, Knowledge, Language
from bot.faq.loader import load_knowledge
from bot.matching.matcher import Matcher
from bot.storage.crypto import Vault
from tests.auxil.conversations import (
    EMAIL,
    PHONE_DIGITS,
    PHONE_TYPED,
    book,
    db_rows,
    jobs_at,
    last,
    openable_in_files,
    staff_card,
    text_for,
)
from tests.auxil.harness import DATA_KEY, BotHarness
from tests.auxil.telegram_users import (
    ANA,
    BEN,
    MARIA,
    STAFF_CHAT_ID,
    TelegramUser,
)
from tests.auxil.web import Clock, Visitor, WebHost, sqlite_file_url

# The promise: (a fragment of its line in the English notice, in the Spanish one).
PROMISES: dict[str, tuple[str, str]] = {
    "requests": (
        "If you book a consultation and agree:",
        "Si hace una cita y está de acuerdo:",
    ),
    "drafts": (
        "An unfinished booking: its answers are deleted when it expires",
        "Una solicitud que no terminó: sus respuestas se borran cuando vence",
    ),
    "kept-questions": (
        "Questions I could not answer, so the firm can improve its answers",
        "Las preguntas que no supe responder, para que la oficina mejore sus respuestas",
    ),
    "conversation": (
        "This conversation (your language and where we are in it)",
        "Esta conversación (su idioma y en qué punto estamos)",
    ),
    "staff-chat": ("Who sees it: the firm's staff.", "Quién lo ve: el personal de la oficina."),
    "encrypted": (
        "How it is kept: encrypted, in the firm's database.",
        "Cómo se guarda: cifrado, en la base de datos de la oficina.",
    ),
    "mydata-and-forget": (
        "/mydata shows what is stored about you; /forget deletes it at once.",
        "/mydata muestra lo que está guardado sobre usted; /forget lo borra de inmediato.",
    ),
}
# The promises only the web chat's notice makes.
WEB_PROMISES: dict[str, tuple[str, str]] = {
    "web-chat": ("The messages of this web chat", "Los mensajes de este chat web"),
}
# Lines that state no behaviour of the bot: headings, and the firm's own policy on sharing
# (its wording is the firm's to confirm in faq/firm.yaml; `faq check` warns until it has).
HEADINGS = {
    "en": ("Privacy notice", "What I keep, and for how long:"),
    "es": ("Aviso de privacidad", "Qué guardo y por cuánto tiempo:"),
}
# The same promises, as the consent requests make them.
CONSENT_PROMISES: dict[str, tuple[str, str]] = {
    "staff-chat": ("in the firm's Telegram group", "en el grupo de Telegram de la oficina"),
    "encrypted": ("stored encrypted", "cifrad"),
    "requests": ("deleted after", "se borra"),
    "mydata-and-forget": ("which also clears", "que también lo"),
}

Test = TypeVar("Test", bound=Callable[..., Any])
HELD: dict[str, list[str]] = {}


def holds(promise: str) -> Callable[[Test], Test]:
    """Mark a test as holding one promise of the notice."""
    assert promise in PROMISES or promise in WEB_PROMISES, promise

    def mark(test: Test) -> Test:
        HELD.setdefault(promise, []).append(test.__name__)
        return test

    return mark


async def purge_at_the_end_of_retention(bot: BotHarness, start: datetime, *, past: bool) -> None:
    """Run the retention job an hour before the period from `start` ends, or a minute after."""
    ends = start + timedelta(days=bot.settings.lead_retention_days)
    moment = ends + timedelta(minutes=1) if past else ends - timedelta(hours=1)
    await jobs_at(bot, lambda: moment).purge()


def count(tmp_path: Path, table: str) -> int:
    ((rows,),) = db_rows(tmp_path, f"select count(*) from {table}")  # noqa: S608 (our names)
    assert isinstance(rows, int)
    return rows


async def exchange_messages(bot: BotHarness, person: TelegramUser, reference: str) -> None:
    """A staff member writes to the person through the bot, and the person answers."""
    card = await staff_card(bot, reference)
    await bot.staff_press(MARIA, card, f"s:take:{reference}")
    in_person_chat = len(bot.api.messages_to(person.id))
    await bot.staff_reply(MARIA, card, "Rosa, we will call you on Monday")
    await bot.api.wait_for_messages(person.id, 1, after=in_person_chat)
    await bot.say(person, "Monday is good, my cousin Teodoro will be with me")
    await bot.api.wait_until(
        "the person's answer in the staff chat",
        lambda: any("Teodoro" in m.text for m in bot.api.messages_to(STAFF_CHAT_ID)),
    )


UNANSWERABLE = {
    "en": (
        "My name is Rosa Elena Ruiz. How much does a fishing license cost in Nevada? "
        "My A-number is A123456789, SSN 123-45-6789, call (213) 555-0147 or rosa@example.org"
    ),
    "es": (
        "Me llamo Rosa Elena Ruiz. ¿Dónde compro una licencia de pesca en Nevada? Mi número A es "
        "A-123-456-789, mi seguro social 123 45 6789, mi teléfono (213) 555-0147 y mi correo "
        "rosa@example.org"
    ),
}
PERSONAL = ("Rosa", "Elena", "Ruiz", "123456789", "123-45-6789", "123 45 6789", "555", "@")


# --- the notice itself -------------------------------------------------------------------------


@pytest.mark.parametrize("person", [BEN, ANA], ids=["en", "es"])
async def test_every_line_of_the_notice_is_a_promise_held_here_or_states_no_behaviour(
    bot: BotHarness, person: TelegramUser
) -> None:
    language: Language = "es" if person.language_code == "es" else "en"
    index = 0 if language == "en" else 1
    notice = last(await bot.say(person, "/privacy")).text
    firm = bot.knowledge.firm
    sharing = firm.sharing[language]
    # The firm has not confirmed its sentence on sharing data: nobody is shown it.
    assert not firm.sharing_confirmed
    assert sharing not in notice
    for line in filter(None, (line.strip() for line in notice.split("\n"))):
        promised = [name for name, texts in PROMISES.items() if texts[index] in line]
        says_nothing_to_test = line in HEADINGS[language]
        assert promised or says_nothing_to_test, f"no test holds: {line!r}"
    for name, texts in PROMISES.items():
        assert texts[index] in notice, f"promise {name!r} is no longer in the notice"
        assert HELD.get(name), f"no test holds the promise {name!r}"


@pytest.mark.parametrize("language", ["en", "es"])
async def test_every_line_of_the_web_chat_s_notice_is_a_promise_held_here_or_states_no_behaviour(
    tmp_path: Path, knowledge: Knowledge, language: Language
) -> None:
    index = 0 if language == "en" else 1
    web = WebHost(sqlite_file_url(tmp_path), knowledge)
    await web.start()
    try:
        async with httpx.AsyncClient() as client:
            person = Visitor(web.url, client)
            await person.open(language)
            notice = (await person.turn(command="privacy"))[-1]["text"]
    finally:
        await web.stop()
    promises = {**PROMISES, **WEB_PROMISES}
    assert knowledge.firm.sharing[language] not in notice
    for line in filter(None, (line.strip() for line in notice.split("\n"))):
        promised = [name for name, texts in promises.items() if texts[index] in line]
        assert promised or line in HEADINGS[language], f"no test holds: {line!r}"
    for name, texts in promises.items():
        assert texts[index] in notice, f"promise {name!r} is not in the web chat's notice"
        assert HELD.get(name), f"no test holds the promise {name!r}"


@holds("web-chat")
async def test_the_web_chat_s_messages_go_when_deleted_or_after_30_idle_minutes(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    clock = Clock()
    web = WebHost(sqlite_file_url(tmp_path), knowledge, clock=clock)
    await web.start()
    try:
        async with httpx.AsyncClient() as client:
            deleted, idle, active = (Visitor(web.url, client) for _ in range(3))
            for person in (deleted, idle, active):
                await person.open("en")
                await person.say("what is the sanctuary law about, my name is Rosa")
            await client.delete(f"{web.url}/chat/api/session", headers=deleted.headers)
            clock.advance(minutes=29)
            await active.say("still here")
            clock.advance(minutes=1, seconds=1)
            assert await web.channel.close_idle() == 1
            assert (await idle.post_turn(text="hello")).status_code == 401
            assert (await deleted.post_turn(text="hello")).status_code == 401
            kept = await active.history()
    finally:
        await web.stop()
    assert "Rosa" in kept[0]["text"]
    rows = db_rows(tmp_path, "select count(*), count(distinct session_id) from web_messages")
    assert rows == [(len(kept), 1)]
    # "Nothing of the conversation is kept on your device": tests/channels/web/test_web_page.py,
    # test_only_the_chat_s_own_origin_is_requested_and_nothing_is_kept_on_the_device.


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("key", ["consent_request", "urgent_consent_request"])
def test_the_consent_requests_make_the_same_promises(
    knowledge: Knowledge, language: Language, key: str
) -> None:
    index = 0 if language == "en" else 1
    request = knowledge.texts[language][key]
    for name, texts in CONSENT_PROMISES.items():
        assert texts[index].lower() in request.lower(), f"{key}: {name}"
        assert HELD.get(name), name


def _firm_states(faq_copy: Path, *, sharing_confirmed: bool) -> Knowledge:
    firm = faq_copy / "firm.yaml"
    text = firm.read_text(encoding="utf-8")
    assert "sharing_confirmed: false" in text
    confirmed = "true" if sharing_confirmed else "false"
    firm.write_text(text.replace("sharing_confirmed: false", f"sharing_confirmed: {confirmed}"))
    return load_knowledge(faq_copy)


@pytest.mark.parametrize("confirmed", [False, True], ids=["unconfirmed", "confirmed"])
def test_the_firm_s_sentence_on_sharing_data_shows_only_once_the_firm_confirms_it(
    faq_copy: Path, confirmed: bool
) -> None:
    """Until `sharing_confirmed: true` the notice, both consent requests and the privacy answer
    say only what the bot does (encrypted, seen by the firm's staff, deleted on request); then
    the firm's sentence is one line of its own in the notice, and part of the other three."""
    knowledge = _firm_states(faq_copy, sharing_confirmed=confirmed)
    dialogue = Dialogue(knowledge, Matcher(knowledge))

    def first(event: Event, language: Language) -> str:
        turn = dialogue.handle(
            SessionState(), event, now=datetime.now(UTC), language_hint=language
        )
        return turn.replies[0].text

    for language in LANGUAGES:
        index = 0 if language == "en" else 1
        sharing = knowledge.firm.sharing[language]
        notice = first(Command("privacy"), language)
        lines = [line.strip() for line in notice.split("\n")]
        shown = {
            "notice": notice,
            "consent": first(Command("book"), language),
            "urgent consent": first(ButtonPress(URGENT_BOOK), language),
            "privacy answer": first(ButtonPress(QUESTION_PREFIX + "my-data-privacy"), language),
        }
        for where, text in shown.items():
            assert (sharing in text) is confirmed, f"{language} {where}"
            assert "  " not in text, f"{language} {where}: a gap where the sentence was"
            assert "\n\n\n" not in text, f"{language} {where}: a gap where the sentence was"
        assert (sharing in lines) is confirmed
        # What the bot itself does is said either way.
        for promise in ("staff-chat", "encrypted", "mydata-and-forget"):
            assert PROMISES[promise][index] in notice
        for promise in ("staff-chat", "encrypted", "mydata-and-forget"):
            assert CONSENT_PROMISES[promise][index].lower() in shown["consent"].lower()


# --- what is kept, and for how long --------------------------------------------------------------


@pytest.mark.clock
@holds("requests")
@holds("staff-chat")
async def test_a_request_and_its_messages_are_kept_for_the_retention_period_then_deleted(
    bot: BotHarness, tmp_path: Path
) -> None:
    """ "If you book a consultation and agree: your name, phone or email, ... with the messages
    you and the firm exchange here about it. Deleted after N days." and "when a request is
    deleted, the bot clears your name, contact, topic and messages from its posts there"."""
    reference = await book(bot, BEN, name="Rosa Retiene", topic="asylum for my son Mateo")
    await staff_card(bot, reference)
    await exchange_messages(bot, BEN, reference)
    assert count(tmp_path, "leads") == 1
    assert count(tmp_path, "lead_events") >= 3  # taken, to the person, from the person

    start = datetime.now(UTC)
    await purge_at_the_end_of_retention(bot, start, past=False)
    assert count(tmp_path, "leads") == 1  # not before its time

    await purge_at_the_end_of_retention(bot, start, past=True)
    assert count(tmp_path, "leads") == 0
    assert count(tmp_path, "lead_events") == 0
    assert db_rows(tmp_path, "select count(*) from outbox where lead_id is not null") == [(0,)]
    details = ("Rosa", "Mateo", PHONE_DIGITS[-4:], "Teodoro")
    await bot.api.wait_until(
        "the staff chat cleared after the retention period",
        lambda: (
            not any(
                detail in m.text for m in bot.api.messages_to(STAFF_CHAT_ID) for detail in details
            )
        ),
    )
    assert any(
        m.text.startswith(bot.knowledge.text("en", "staff_gone", reference=reference))
        for m in bot.api.messages_to(STAFF_CHAT_ID)
    )


@pytest.mark.clock
@holds("drafts")
@pytest.mark.parametrize("person", [BEN, ANA], ids=["en", "es"])
async def test_an_unfinished_booking_is_deleted_when_it_expires(
    bot: BotHarness, person: TelegramUser, tmp_path: Path
) -> None:
    """ "An unfinished booking: its answers are deleted when it expires, N minutes after your
    last answer.\""""
    consent = last(await bot.say(person, "/book"))
    await bot.press(person, consent, "b:consent:yes")
    await bot.say(person, PHONE_TYPED)
    await bot.say(person, "Rosa Abandona")
    vault = bot.services.runtime.service.store.vault

    def stored_state() -> str:
        ((state,),) = db_rows(tmp_path, "select state from sessions")
        assert isinstance(state, bytes)
        return str(vault.decrypt(state))

    assert "Rosa Abandona" in stored_state()
    minutes = bot.settings.booking_timeout_minutes
    await jobs_at(bot, lambda: datetime.now(UTC) + timedelta(minutes=minutes - 1)).expire_drafts()
    assert "Rosa Abandona" in stored_state()  # not before its time
    await jobs_at(bot, lambda: datetime.now(UTC) + timedelta(minutes=minutes + 1)).expire_drafts()
    assert "Rosa Abandona" not in stored_state()
    assert PHONE_DIGITS not in stored_state()
    report = last(await bot.say(person, "/mydata")).text
    assert text_for(bot, person, "mydata_draft") not in report


@pytest.mark.clock
@holds("kept-questions")
@pytest.mark.parametrize("person", [BEN, ANA], ids=["en", "es"])
async def test_kept_questions_hold_no_contact_name_or_id_number_and_are_deleted_in_time(
    bot: BotHarness, person: TelegramUser, tmp_path: Path
) -> None:
    """ "Questions I could not answer, ..., with phone numbers, emails, names after "my name
    is", A-numbers and Social Security numbers removed first. Deleted after N days.\""""
    language: Language = "es" if person.language_code == "es" else "en"
    await bot.say(person, UNANSWERABLE[language])
    store = bot.services.runtime.service.store
    kept = await store.unanswered_texts()
    assert len(kept) == 1, "the question was not kept"
    ((_, question),) = kept
    assert "Nevada" in question
    for personal in PERSONAL:
        assert personal not in question
    start = datetime.now(UTC)
    await purge_at_the_end_of_retention(bot, start, past=False)
    assert count(tmp_path, "unanswered") == 1
    await purge_at_the_end_of_retention(bot, start, past=True)
    assert count(tmp_path, "unanswered") == 0


@pytest.mark.clock
@holds("conversation")
async def test_the_conversation_is_deleted_after_the_retention_period_without_messages(
    bot: BotHarness, tmp_path: Path
) -> None:
    """ "This conversation (your language and where we are in it): deleted after N days without
    messages.\""""
    await bot.say(ANA, "hola")
    assert count(tmp_path, "sessions") == 1
    start = datetime.now(UTC)
    await purge_at_the_end_of_retention(bot, start, past=False)
    assert count(tmp_path, "sessions") == 1
    await purge_at_the_end_of_retention(bot, start, past=True)
    assert count(tmp_path, "sessions") == 0


# --- who sees it, and how it is kept -------------------------------------------------------------


@holds("staff-chat")
async def test_a_request_reaches_only_the_person_and_the_staff_chat(bot: BotHarness) -> None:
    """ "Who sees it: the firm's staff. Each request is posted in the firm's Telegram group.\""""
    reference = await book(bot, BEN, name="Rosa Visible", topic="asylum for my son Mateo")
    await staff_card(bot, reference)
    await exchange_messages(bot, BEN, reference)
    chats = {
        message.chat_id
        for message in bot.api.sent
        if any(detail in message.text for detail in ("Rosa Visible", "Mateo", "Teodoro"))
    }
    assert chats == {BEN.id, STAFF_CHAT_ID}
    # Staff commands elsewhere are refused, and /leads names no one.
    assert last(await bot.say(ANA, "/leads")).text == bot.knowledge.text("es", "unknown_command")


@holds("encrypted")
async def test_nothing_a_person_gives_is_readable_in_the_database_files(
    bot: BotHarness, tmp_path: Path
) -> None:
    """ "How it is kept: encrypted, in the firm's database.\""""
    await bot.say(BEN, UNANSWERABLE["en"].replace("Rosa Elena Ruiz", "Teresa"))
    reference = await book(bot, BEN, name="Rosa Cifrada", contact="email", topic="visa for Mateo")
    await staff_card(bot, reference)
    await exchange_messages(bot, BEN, reference)
    # The session's draft and owed replies, too: a booking half done.
    consent = last(await bot.say(ANA, "/book"))
    await bot.press(ANA, consent, "b:consent:yes")
    await bot.say(ANA, "Rosa Pendiente")
    await bot.services.runtime.service.store.flush()
    files = sorted(tmp_path.glob("bot.sqlite3*"))
    raw = b"".join(path.read_bytes() for path in files)
    for plain in ("Rosa", "Mateo", "Teodoro", "Maria", "Nevada", EMAIL, PHONE_DIGITS, "555-0147"):
        assert plain.encode() not in raw, plain
        assert plain.encode("utf-16-le") not in raw, plain


# --- the person's own controls ----------------------------------------------------------------


@holds("mydata-and-forget")
@pytest.mark.parametrize("person", [BEN, ANA], ids=["en", "es"])
async def test_mydata_shows_what_is_stored_and_forget_deletes_it_at_once(
    bot: BotHarness, person: TelegramUser, tmp_path: Path
) -> None:
    """ "Your choice: /mydata shows what is stored about you; /forget deletes it at once. This
    chat stays on your phone until you delete it in Telegram.\""""
    language: Language = "es" if person.language_code == "es" else "en"
    await bot.say(person, UNANSWERABLE[language])
    reference = await book(bot, person, name="Rosa Olvida")
    await staff_card(bot, reference)
    await exchange_messages(bot, person, reference)

    report = last(await bot.say(person, "/mydata")).text
    assert reference in report
    assert "Rosa Olvida" in report
    assert text_for(bot, person, "status_claimed") in report
    assert text_for(bot, person, "mydata_questions", count="1") in report

    confirm = last(await bot.say(person, "/forget"))
    (forgotten,) = await bot.press(person, confirm, "b:forget:yes")
    assert forgotten.text == text_for(bot, person, "forgotten")
    # What the bot cannot delete, it says: the chat on the person's phone.
    assert (
        "borre el chat en Telegram" if language == "es" else "delete the chat in Telegram"
    ) in (forgotten.text)
    for table in ("leads", "lead_events", "unanswered"):
        assert count(tmp_path, table) == 0, table
    assert db_rows(tmp_path, "select count(*) from outbox where lead_id is not null") == [(0,)]
    report = last(await bot.say(person, "/mydata")).text
    assert reference not in report
    assert "Rosa Olvida" not in report
    assert text_for(bot, person, "mydata_questions", count="1") not in report


@holds("mydata-and-forget")
async def test_after_forget_nothing_of_the_person_opens_with_the_key_in_the_database_files(
    bot: BotHarness, tmp_path: Path
) -> None:
    """ "/forget deletes it at once": also the encrypted copies SQLite keeps of deleted rows (free
    space in pages, older pages in the write-ahead log), which the key file beside them opens."""
    reference = await book(bot, BEN, name="Rosa Olvida", topic="visa for my son Mateo")
    await staff_card(bot, reference)
    await exchange_messages(bot, BEN, reference)
    await bot.say(ANA, "hola")  # someone else, who stays
    await bot.services.runtime.service.store.flush()
    vault = Vault(DATA_KEY)
    details = ("Rosa", "Olvida", "Mateo", PHONE_DIGITS, "Monday", "Teodoro")
    opened = b"\n".join(openable_in_files(tmp_path, vault))
    assert [d for d in details if d.encode() not in opened] == []  # the check can see them

    confirm = last(await bot.say(BEN, "/forget"))
    (forgotten,) = await bot.press(BEN, confirm, "b:forget:yes")
    assert forgotten.text == text_for(bot, BEN, "forgotten")
    opened_after = openable_in_files(tmp_path, vault)
    assert opened_after, "nothing opens: the check would pass on any file"
    for value in opened_after:
        for detail in details:
            assert detail.encode() not in value, detail
