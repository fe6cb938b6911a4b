"""The web chat's JSON API, over real HTTP against the real host on a loopback port, on SQLite
and PostgreSQL: turns, idempotent retries, history, errors and limits, expiry, deletion."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.channels.web import WebLimits
from bot.faq.knowledge import Knowledge
from bot.settings import Settings
from bot.storage.crypto import looks_encrypted
from bot.storage.store import LeadRow, WebMessageRow, WebSessionRow
from tests.auxil.databases import empty_postgresql
from tests.auxil.web import Clock, Visitor, WebHost, sqlite_file_url
from tests.conftest import migrated

QUESTION = {
    "en": "Is Los Angeles a sanctuary city?",
    "es": "¿Los Ángeles es una ciudad santuario?",
}
CRISIS = {"en": "ICE took my husband this morning", "es": "ICE se llevó a mi esposo esta mañana"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_file_url(tmp_path)
    else:
        url = await empty_postgresql()
        await migrated(url)
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def web(database_url: str, knowledge: Knowledge, clock: Clock) -> AsyncIterator[WebHost]:
    host = WebHost(database_url, knowledge, clock=clock, limits=WebLimits(session_turns=40))
    await host.start()
    yield host
    await host.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as opened:
        yield opened


@pytest.fixture
async def visitor(web: WebHost, client: httpx.AsyncClient) -> Visitor:
    person = Visitor(web.url, client)
    await person.open("en")
    return person


async def count(web: WebHost, statement: Any) -> int:
    async with web.host.runtime.store.reading() as session:  # type: ignore[union-attr]
        found = await session.scalar(statement)
    return int(found or 0)


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_question_gets_the_faq_s_answer_in_the_session_s_language(
    web: WebHost, client: httpx.AsyncClient, knowledge: Knowledge, lang: str
) -> None:
    person = Visitor(web.url, client)
    await person.open(lang)
    replies = await person.say(QUESTION[lang])
    answer = knowledge.answer("is-la-sanctuary-city", "es" if lang == "es" else "en")
    assert any(answer[:60] in reply["text"] for reply in replies), replies
    assert {reply["lang"] for reply in replies} == {lang}
    assert [reply["seq"] for reply in replies] == list(range(2, 2 + len(replies)))


async def test_a_crisis_gets_the_firm_s_phone_first_and_an_urgent_callback(
    visitor: Visitor, knowledge: Knowledge
) -> None:
    first = (await visitor.say(CRISIS["en"]))[0]
    assert first["text"].splitlines()[0].endswith(knowledge.firm.phone)
    assert "urgent" in [button["data"] for button in first["buttons"]]


async def test_a_retried_turn_gets_the_same_replies_and_changes_nothing(
    visitor: Visitor,
) -> None:
    first = await visitor.turn(client_msg_id="retry-1", text=QUESTION["en"])
    again = await visitor.turn(client_msg_id="retry-1", text=QUESTION["en"])
    assert again == first
    history = await visitor.history()
    assert [message["from"] for message in history].count("person") == 1
    assert len(history) == 1 + len(first)


async def test_concurrent_duplicates_of_a_turn_are_answered_once(
    web: WebHost, visitor: Visitor
) -> None:
    answers = await asyncio.gather(
        *(visitor.post_turn(client_msg_id="same", text=QUESTION["en"]) for _ in range(6))
    )
    bodies = [answer.json() for answer in answers]
    assert all(answer.status_code == 200 for answer in answers)
    assert all(body == bodies[0] for body in bodies)
    history = await visitor.history()
    assert [message["from"] for message in history].count("person") == 1


async def test_a_booking_confirmed_twice_is_one_request(web: WebHost, visitor: Visitor) -> None:
    consent = (await visitor.turn(command="book"))[-1]
    await visitor.press(consent, "b:consent:yes")
    await visitor.say("(213) 555-0147")
    voicemail = (await visitor.say("Ana Prueba"))[-1]
    summary = (await visitor.press(voicemail, "b:voicemail:no"))[-1]
    confirm = {"client_msg_id": "confirm-1", "button": "b:confirm:yes"}
    assert "b:confirm:yes" in [button["data"] for button in summary["buttons"]]
    first, second = await asyncio.gather(
        visitor.post_turn(**confirm), visitor.post_turn(**confirm)
    )
    assert first.json() == second.json()
    assert "C-" in first.json()["replies"][-1]["text"]
    assert await count(web, select(func.count()).select_from(LeadRow)) == 1


async def test_history_restores_the_whole_conversation_after_a_reload(
    web: WebHost, visitor: Visitor
) -> None:
    replies = await visitor.say(QUESTION["en"])
    pressed = await visitor.press(replies[-1], replies[-1]["buttons"][0]["data"])
    async with httpx.AsyncClient() as reloaded:
        again = Visitor(web.url, reloaded, token=visitor.token)
        history = await again.history()
        later = await again.history(after=history[1]["seq"])
    assert [m["from"] for m in history][:2] == ["person", "assistant"]
    assert history[0]["text"] == QUESTION["en"]
    assert history[-1]["text"] == pressed[-1]["text"]
    # What the person chose shows as the button's label.
    chosen = history[1 + len(replies)]
    assert chosen == {**chosen, "from": "person", "text": replies[-1]["buttons"][0]["label"]}
    assert later == history[2:]


async def test_commands_privacy_mydata_and_forget(web: WebHost, visitor: Visitor) -> None:
    privacy = (await visitor.turn(command="privacy"))[-1]["text"]
    assert "web chat" in privacy
    assert "Telegram ID" not in privacy
    await visitor.book()
    mydata = (await visitor.turn(command="mydata"))[-1]["text"]
    assert "Ana Prueba" in mydata
    confirm = (await visitor.say("/forget"))[-1]
    done = await visitor.press(confirm, confirm["buttons"][0]["data"])
    assert "deleted" in done[-1]["text"]
    assert "Telegram" not in done[-1]["text"]
    assert await count(web, select(func.count()).select_from(LeadRow)) == 0
    # The conversation's messages went with it; only the answer to /forget is left.
    assert [message["text"] for message in await visitor.history()] == [done[-1]["text"]]


async def test_the_text_is_stored_encrypted(web: WebHost, visitor: Visitor) -> None:
    await visitor.say("my cousin Teodoro asks about the sanctuary law")
    async with web.host.runtime.store.reading() as session:  # type: ignore[union-attr]
        bodies = (await session.scalars(select(WebMessageRow.body))).all()
    assert bodies
    assert all(looks_encrypted(body) and b"Teodoro" not in body for body in bodies)


async def test_delete_removes_the_conversation_and_refuses_the_token(
    web: WebHost, visitor: Visitor
) -> None:
    await visitor.say(QUESTION["en"])
    gone = await visitor.client.delete(f"{web.url}/chat/api/session", headers=visitor.headers)
    assert gone.status_code == 204
    assert await count(web, select(func.count()).select_from(WebMessageRow)) == 0
    assert await count(web, select(func.count()).select_from(WebSessionRow)) == 0
    refused = await visitor.post_turn(text="hello")
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"


async def test_only_a_hash_of_the_token_is_stored(web: WebHost, visitor: Visitor) -> None:
    async with web.host.runtime.store.reading() as session:  # type: ignore[union-attr]
        stored = (await session.scalars(select(WebSessionRow.token_hash))).all()
    assert visitor.token is not None
    assert len(visitor.token) >= 43
    assert visitor.token not in stored
    assert len(stored) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}],
    ids=["none", "unknown", "not-bearer"],
)
async def test_a_turn_without_a_live_token_is_401(
    web: WebHost, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await client.post(
        f"{web.url}/chat/api/turn", json={"client_msg_id": "x", "text": "hi"}, headers=headers
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert "reload" in answer.json()["message"]


async def test_quick_exit_leaves_for_the_page_the_firm_chose(
    database_url: str, knowledge: Knowledge, client: httpx.AsyncClient
) -> None:
    neutral = "https://www.bbc.com/weather"
    host = WebHost(database_url, knowledge, web_quick_exit_url=neutral)
    await host.start()
    try:
        page = (await client.get(f"{host.url}/chat")).text
        loader = (await client.get(f"{host.url}/chat/embed.js")).text
    finally:
        await host.stop()
    assert f'data-exit="{neutral}"' in page
    assert f'location.replace("{neutral}")' in loader
    assert "google" not in page + loader


@pytest.mark.parametrize(
    "address", ["http://example.org/", "javascript:alert(1)", "https://", "weather"]
)
def test_quick_exit_leaves_only_for_an_https_page(address: str) -> None:
    with pytest.raises(ValidationError, match="https://"):
        Settings(_env_file=None, web_quick_exit_url=address)


async def test_an_origin_not_allowed_is_403_and_an_allowed_one_is_not(
    database_url: str, knowledge: Knowledge, client: httpx.AsyncClient
) -> None:
    host = WebHost(database_url, knowledge, web_allowed_origins="https://firm.example")
    await host.start()
    try:
        url = f"{host.url}/chat/api/session"
        evil = await client.post(
            url, json={"lang": "es"}, headers={"Origin": "https://evil.example"}
        )
        firm = await client.post(
            url, json={"lang": "es"}, headers={"Origin": "https://firm.example"}
        )
        own = await client.post(url, json={"lang": "es"}, headers={"Origin": host.url})
        page = await client.get(f"{host.url}/chat")
        turn = await client.post(
            f"{host.url}/chat/api/turn",
            json={"client_msg_id": "1", "text": "hola"},
            headers={
                "Origin": "https://evil.example",
                "Authorization": f"Bearer {own.json()['token']}",
            },
        )
    finally:
        await host.stop()
    assert evil.status_code == 403
    assert evil.json()["error"] == "forbidden"
    # In the session's language when the request names one.
    assert turn.status_code == 403
    assert turn.json()["message"] == knowledge.texts["es"]["web_error_forbidden"]
    assert firm.status_code == 201
    assert firm.headers["access-control-allow-origin"] == "https://firm.example"
    assert own.status_code == 201
    assert "frame-ancestors 'self' https://firm.example" in page.headers["content-security-policy"]


async def test_a_body_too_large_is_413_and_a_text_over_4096_characters_too(
    web: WebHost, visitor: Visitor
) -> None:
    huge = await visitor.client.post(
        f"{web.url}/chat/api/turn",
        content=b'{"client_msg_id": "x", "text": "' + b"a" * 30_000 + b'"}',
        headers={**visitor.headers, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"] == "too_large"
    long = await visitor.post_turn(text="a" * 4097)
    assert long.status_code == 413
    fits = await visitor.post_turn(text="a" * 4096)
    assert fits.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"text": "no id"}',
        b'{"client_msg_id": "x"}',
        b'{"client_msg_id": "x", "text": "a", "button": "b"}',
        b'{"client_msg_id": "x", "command": "rm -rf"}',
        b'{"client_msg_id": 5, "text": "a"}',
        b'{"client_msg_id": "x", "text": 5}',
    ],
)
async def test_a_malformed_turn_is_422(web: WebHost, visitor: Visitor, body: bytes) -> None:
    answer = await visitor.client.post(
        f"{web.url}/chat/api/turn",
        content=body,
        headers={**visitor.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json() == {"error": "invalid", "message": "That request could not be read."}


async def test_history_after_must_be_a_number(web: WebHost, visitor: Visitor) -> None:
    answer = await visitor.client.get(
        f"{web.url}/chat/api/history", params={"after": "x"}, headers=visitor.headers
    )
    assert answer.status_code == 422


async def test_too_many_turns_are_429_with_retry_after_in_the_session_s_language(
    database_url: str, knowledge: Knowledge, client: httpx.AsyncClient, clock: Clock
) -> None:
    host = WebHost(database_url, knowledge, clock=clock, limits=WebLimits(session_turns=3))
    await host.start()
    try:
        person, other = Visitor(host.url, client), Visitor(host.url, client)
        await person.open("es")
        await other.open("es")
        for _ in range(3):
            assert (await person.post_turn(text="hola")).status_code == 200
        refused = await person.post_turn(text="hola")
        # Another person behind the same address is not blocked.
        neighbour = await other.post_turn(text="hola")
        clock.advance(minutes=1, seconds=1)
        later = await person.post_turn(text="hola")
    finally:
        await host.stop()
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    seconds = int(refused.headers["retry-after"])
    assert 1 <= seconds <= 60
    assert f"Espere {seconds} segundos" in refused.json()["message"]
    assert neighbour.status_code == 200
    assert later.status_code == 200


async def test_too_many_requests_from_one_address_are_429(
    database_url: str, knowledge: Knowledge, client: httpx.AsyncClient
) -> None:
    host = WebHost(database_url, knowledge, limits=WebLimits(address_requests=5))
    await host.start()
    try:
        answers = [
            await client.post(f"{host.url}/chat/api/session", json={"lang": "en"})
            for _ in range(6)
        ]
    finally:
        await host.stop()
    assert [answer.status_code for answer in answers] == [201] * 5 + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1


@pytest.mark.parametrize(("trusted", "shared"), [("127.0.0.1", False), ("", True)])
async def test_behind_a_trusted_proxy_each_visitor_is_counted_by_their_own_address(
    database_url: str,
    knowledge: Knowledge,
    client: httpx.AsyncClient,
    trusted: str,
    shared: bool,
) -> None:
    # Through a proxy on 127.0.0.1 (WEB_TRUSTED_PROXIES): five visitors at one address use up
    # its limit, and the next one, at another address, still gets in. Trusting no proxy, the
    # X-Forwarded-For a client sends is ignored and everyone shares the proxy's address.
    host = WebHost(
        database_url,
        knowledge,
        limits=WebLimits(address_requests=5),
        web_trusted_proxies=trusted,
    )
    await host.start()

    async def open_from(address: str) -> int:
        answer = await client.post(
            f"{host.url}/chat/api/session",
            json={"lang": "en"},
            headers={"X-Forwarded-For": address},
        )
        return answer.status_code

    try:
        first = [await open_from("203.0.113.7") for _ in range(5)]
        other = await open_from("198.51.100.20")
    finally:
        await host.stop()
    assert first == [201] * 5
    assert other == (429 if shared else 201)


def test_a_trusted_proxy_must_be_an_address() -> None:
    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(_env_file=None, web_trusted_proxies="proxy.example.org")
    assert Settings(_env_file=None, web_trusted_proxies="10.0.0.0/8, ::1").web_trusted_proxies == (
        "10.0.0.0/8",
        "::1",
    )


async def test_a_session_expires_when_idle_and_a_turn_or_an_extension_keeps_it(
    web: WebHost, visitor: Visitor, clock: Clock
) -> None:
    assert visitor.expires_in == 30 * 60
    clock.advance(minutes=25)
    await visitor.say("hello")
    clock.advance(minutes=25)
    assert (
        await visitor.client.get(f"{web.url}/chat/api/history", headers=visitor.headers)
    ).json()["expires_in"] == 5 * 60
    extended = await visitor.client.post(f"{web.url}/chat/api/session", headers=visitor.headers)
    assert extended.status_code == 200
    assert extended.json()["expires_in"] == 30 * 60
    clock.advance(minutes=29)
    assert (await visitor.post_turn(text="still here")).status_code == 200
    clock.advance(minutes=31)
    assert (await visitor.post_turn(text="too late")).status_code == 401
    # The idle session is then deleted with its messages.
    assert await web.channel.close_idle() == 1
    assert await count(web, select(func.count()).select_from(WebMessageRow)) == 0


async def test_the_page_and_the_api_send_strict_headers_and_no_cookie(
    web: WebHost, visitor: Visitor
) -> None:
    answers = [
        await visitor.client.get(f"{web.url}/chat"),
        await visitor.client.get(f"{web.url}/chat/static/chat.js"),
        await visitor.client.get(f"{web.url}/chat/embed.js"),
        await visitor.post_turn(text="hi"),
        await visitor.client.get(f"{web.url}/chat/api/history", headers=visitor.headers),
    ]
    for answer in answers:
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert "camera=()" in answer.headers["permissions-policy"]
        assert "geolocation=()" in answer.headers["permissions-policy"]
        assert "set-cookie" not in answer.headers


async def test_the_page_is_within_its_size_budget_and_names_the_firm_s_phone(
    web: WebHost, client: httpx.AsyncClient, knowledge: Knowledge
) -> None:
    page = await client.get(f"{web.url}/chat", params={"lang": "es"})
    files = [
        page.content,
        (await client.get(f"{web.url}/chat/static/chat.js")).content,
        (await client.get(f"{web.url}/chat/static/chat.css")).content,
    ]
    assert sum(len(gzip.compress(body)) for body in files) <= 25 * 1024
    embed = (await client.get(f"{web.url}/chat/embed.js")).content
    assert len(gzip.compress(embed)) <= 2560
    assert 'lang="es"' in page.text
    assert "Mensaje" in page.text
    assert "Salida rápida" in page.text
    assert 'href="tel:+17035345588"' in page.text
    assert "<script>" not in page.text
    assert "style=" not in page.text


async def test_two_instances_share_one_database(
    database_url: str, knowledge: Knowledge, client: httpx.AsyncClient
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several instances share PostgreSQL")
    first, second = WebHost(database_url, knowledge), WebHost(database_url, knowledge)
    await first.start()
    await second.start()
    try:
        person = Visitor(first.url, client)
        await person.open("en")
        await person.say(QUESTION["en"])
        elsewhere = Visitor(second.url, client, token=person.token)
        turns = await asyncio.gather(
            person.post_turn(client_msg_id="both", text="/privacy"),
            elsewhere.post_turn(client_msg_id="both", text="/privacy"),
        )
        history = await elsewhere.history()
    finally:
        await first.stop()
        await second.stop()
    assert turns[0].json() == turns[1].json()
    assert [message["from"] for message in history].count("person") == 2


async def test_a_new_session_never_gets_the_id_of_a_deleted_one(
    web: WebHost, client: httpx.AsyncClient
) -> None:
    first = Visitor(web.url, client)
    await first.open("en")
    await first.book(name="Rosa Primera")
    gone = await client.delete(f"{web.url}/chat/api/session", headers=first.headers)
    assert gone.status_code == 204
    second = Visitor(web.url, client)
    await second.open("en")
    mydata = (await second.turn(command="mydata"))[-1]["text"]
    assert "Rosa Primera" not in mydata
    assert mydata == web.host.runtime.knowledge.text("en", "mydata_nothing")  # type: ignore[union-attr]
