"""One contract for every channel: the console, Telegram and the web chat hold the same
conversation (as aiogram runs one storage contract against every backend).

Each channel is driven through its own edge, as a person uses it: the console by typed lines
(a choice by its number), Telegram by updates from the fake Bot API, the web chat over HTTP.
What the person reads must be the same; where a channel has its own wording (the web's
/forget, which cannot tell the person to delete a Telegram chat), the contract says so.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from bot.channels.console import run_console
from bot.dialogue import Dialogue
from bot.faq.knowledge import Knowledge, Language
from bot.host.turns import ChatService
from bot.storage.crypto import Vault
from bot.storage.store import Store
from tests.auxil.conversations import PHONE_TYPED
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.harness import sqlite_url
from tests.auxil.telegram_users import STAFF_CHAT_ID, TelegramUser
from tests.auxil.web import TelegramAndWeb, Visitor
from tests.conftest import TEST_SECRET, migrated

_BUTTON_LINE = re.compile(r"^  (\d+)\. (.*)$")
_REFERENCE = re.compile(r"C-[A-Z0-9]{6}")


@dataclass(frozen=True, slots=True)
class Seen:
    """One message as the person sees it: its text and its buttons' labels."""

    text: str
    buttons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Say:
    """Type a message (or a command, with its slash)."""

    text: str


@dataclass(frozen=True, slots=True)
class Press:
    """Choose the button with this label under the latest message that offers it."""

    label: str


Action = Say | Press


class Channel(Protocol):
    """A channel as a person uses it: open the chat, then act, turn by turn."""

    name: str
    has_staff_chat: bool
    keeps_old_buttons: bool

    async def converse(self, actions: Sequence[Action]) -> list[list[Seen]]:
        """What the person read on opening the chat, then after each action."""
        ...

    async def staff_cards(self, reference: str) -> list[str]:
        """The staff chat's messages about a request (channels with a staff chat)."""
        ...


class ConsoleChannel:
    """`python -m bot chat`: typed lines in, printed replies out."""

    name = "console"
    has_staff_chat = False
    # A number chooses among the last message's buttons only.
    keeps_old_buttons = False

    def __init__(self, service: ChatService, knowledge: Knowledge, language: Language) -> None:
        self.service, self.knowledge, self.language = service, knowledge, language

    async def converse(self, actions: Sequence[Action]) -> list[list[Seen]]:
        printed: list[str] = []
        turns: list[list[Seen]] = []
        fixed = {
            text
            for key in ("choose_number", "console_no_contact", "goodbye")
            for text in (self.knowledge.text(lang, key) for lang in ("en", "es"))
        }

        def take_turn() -> None:
            turns.append([_read_console(block) for block in printed if block not in fixed])
            printed.clear()

        def lines() -> Iterator[str]:
            shown: list[Seen] = []
            for action in actions:
                take_turn()
                shown = [seen for seen in turns[-1] if seen.buttons] or shown
                if isinstance(action, Say):
                    yield action.text
                else:
                    offering = next(s for s in reversed(shown) if action.label in s.buttons)
                    yield str(offering.buttons.index(action.label) + 1)
            take_turn()

        await run_console(
            self.service, self.knowledge, lines(), printed.append, language=self.language
        )
        return turns

    async def staff_cards(self, reference: str) -> list[str]:
        raise AssertionError("the console has no staff chat")


def _read_console(block: str) -> Seen:
    lines = block.split("\n")
    buttons: list[str] = []
    while lines and (found := _BUTTON_LINE.match(lines[-1])):
        buttons.insert(0, found.group(2))
        lines.pop()
    return Seen("\n".join(lines), tuple(buttons))


class TelegramChannel:
    """A private chat with the bot, through the fake Bot API."""

    name = "telegram"
    has_staff_chat = True
    keeps_old_buttons = True

    def __init__(self, bot: TelegramAndWeb, language: Language) -> None:
        self.bot = bot
        self.user = TelegramUser(5551000, "Dana", language)

    async def converse(self, actions: Sequence[Action]) -> list[list[Seen]]:
        turns = [_read_telegram(await self.bot.say(self.user, "/start"))]
        shown: list[SentMessage] = []
        for action in actions:
            shown = [m for m in self.bot.api.messages_to(self.user.id) if m.buttons] or shown
            if isinstance(action, Say):
                sent = await self.bot.say(self.user, action.text)
            else:
                under = next(m for m in reversed(shown) if action.label in _labels(m))
                data = dict(under.buttons)[action.label]
                sent = await self.bot.press(self.user, under, data)
            turns.append(_read_telegram(sent))
        return turns

    async def staff_cards(self, reference: str) -> list[str]:
        return await _staff_cards(self.bot.api, reference)


def _read_telegram(sent: list[SentMessage]) -> list[Seen]:
    return [Seen(message.text, _labels(message)) for message in sent]


def _labels(message: SentMessage) -> tuple[str, ...]:
    return tuple(label for label, _ in message.buttons)


async def _staff_cards(api: FakeBotApi, reference: str) -> list[str]:
    await api.wait_until(
        f"the staff's card about {reference}",
        lambda: any(reference in m.text for m in api.messages_to(STAFF_CHAT_ID)),
    )
    return [m.text for m in api.messages_to(STAFF_CHAT_ID) if reference in m.text]


class WebChannel:
    """The web chat's JSON API, as the page uses it."""

    name = "web"
    has_staff_chat = True
    keeps_old_buttons = True

    def __init__(self, bot: TelegramAndWeb, client: httpx.AsyncClient, language: Language):
        self.api = bot.api
        self.visitor = Visitor(bot.url, client)
        self.language = language

    async def converse(self, actions: Sequence[Action]) -> list[list[Seen]]:
        await self.visitor.open(self.language)
        turns = [_read_web(await self.visitor.turn(command="start"))]
        shown: list[dict[str, object]] = []
        for action in actions:
            if isinstance(action, Say):
                if action.text.startswith("/"):
                    replies = await self.visitor.turn(command=action.text[1:])
                else:
                    replies = await self.visitor.say(action.text)
            else:
                data = next(
                    button["data"]
                    for reply in reversed(shown)
                    for button in reply["buttons"]  # type: ignore[attr-defined]
                    if button["label"] == action.label
                )
                replies = await self.visitor.turn(button=data)
            shown += [reply for reply in replies if reply["buttons"]]
            turns.append(_read_web(replies))
        return turns

    async def staff_cards(self, reference: str) -> list[str]:
        return await _staff_cards(self.api, reference)


def _read_web(replies: list[dict[str, object]]) -> list[Seen]:
    return [
        Seen(str(reply["text"]), tuple(b["label"] for b in reply["buttons"]))  # type: ignore[attr-defined]
        for reply in replies
    ]


@pytest.fixture(params=["console", "telegram", "web"])
def channel_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["en", "es"])
def language(request: pytest.FixtureRequest) -> Language:
    return "es" if request.param == "es" else "en"


@pytest.fixture
async def channel(
    channel_kind: str, language: Language, knowledge: Knowledge, dialogue: Dialogue, tmp_path: Path
) -> AsyncIterator[Channel]:
    """The channel on a real SQLite database; Telegram and the web chat on one host (`python -m
    bot run` with WEB_PORT set) with a staff chat, against the fake Bot API."""
    url = sqlite_url(tmp_path)
    if channel_kind == "console":
        await migrated(url)
        store = await Store.open(url, Vault(TEST_SECRET))
        try:
            yield ConsoleChannel(ChatService(dialogue, store), knowledge, language)
        finally:
            await store.close()
        return
    api = FakeBotApi()
    await api.start()
    both = TelegramAndWeb(api, url, knowledge, bot_admin_chat_ids=(STAFF_CHAT_ID,))
    await both.start()
    try:
        if channel_kind == "telegram":
            yield TelegramChannel(both, language)
        else:
            async with httpx.AsyncClient(timeout=30) as client:
                yield WebChannel(both, client, language)
    finally:
        await both.stop()
        await api.stop()


def _texts(turn: list[Seen]) -> str:
    return "\n".join(seen.text for seen in turn)


QUESTION = {"en": "who does the law protect?", "es": "¿a quién protege la ley?"}
CRISIS = {
    "en": "ICE just took my husband outside our house, right now",
    "es": "la migra se acaba de llevar a mi esposo afuera de la casa ahorita",
}


async def test_the_chat_opens_with_the_welcome(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    (opening,) = await channel.converse([])
    assert knowledge.text(language, "welcome") in _texts(opening)


async def test_a_question_gets_its_entry_s_answer(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    _, answered = await channel.converse([Say(QUESTION[language])])
    assert knowledge.answer("who-is-protected", language) in _texts(answered)


async def test_a_crisis_gets_the_phone_and_the_urgent_callback_first(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    _, answered = await channel.converse([Say(CRISIS[language])])
    assert knowledge.firm.phone in answered[0].text
    urgent = knowledge.text(language, "button_urgent_book")
    assert any(urgent in seen.buttons for seen in answered)


def _booking(knowledge: Knowledge, language: Language, name: str) -> list[Action]:
    def label(key: str) -> str:
        return knowledge.text(language, key)

    return [
        Say("/book"),
        Press(label("button_agree")),
        Say(PHONE_TYPED),
        Say(name),
        Press(label("button_voicemail_no")),
        Say("sanctuary law"),
        Press(label("button_confirm")),
    ]


async def test_a_booking_is_confirmed_with_its_reference_and_reaches_the_staff_once(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    turns = await channel.converse(
        [*_booking(knowledge, language, "Dana Contrato"), Say("/mydata")]
    )
    found = _REFERENCE.search(_texts(turns[-2]))
    assert found, _texts(turns[-2])
    mydata = _texts(turns[-1])
    assert found.group(0) in mydata
    assert "Dana Contrato" in mydata
    if channel.has_staff_chat:
        (card,) = await channel.staff_cards(found.group(0))
        assert "Dana Contrato" in card


async def test_forget_deletes_what_was_stored(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    turns = await channel.converse(
        [
            *_booking(knowledge, language, "Dana Olvido"),
            Say("/forget"),
            Press(knowledge.text(language, "button_forget_yes")),
            Say("/mydata"),
        ]
    )
    done = _texts(turns[-2])
    forgotten_key = "web_forgotten" if channel.name == "web" else "forgotten"
    assert knowledge.text(language, forgotten_key) in done
    assert _texts(turns[-1]) == knowledge.text(language, "mydata_nothing")


async def test_a_button_from_an_old_message_gets_a_sensible_reply(
    channel: Channel, knowledge: Knowledge, language: Language
) -> None:
    # Consent is asked, then the booking is cancelled; the old "I agree" is pressed again.
    if not channel.keeps_old_buttons:
        pytest.skip(f"the {channel.name} offers only the latest message's buttons")
    turns = await channel.converse(
        [
            Say("/book"),
            Say("/cancel"),
            Press(knowledge.text(language, "button_agree")),
        ]
    )
    (late,) = turns[-1]
    assert late.text == knowledge.text(language, "stale_button")
    assert knowledge.text(language, "button_ask") in late.buttons
