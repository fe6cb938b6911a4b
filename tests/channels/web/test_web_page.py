"""The web chat's page in Debian's Chromium, driven by Playwright, against the real host on a
loopback port: what a person sees and can do, and what the page keeps and requests.

Chromium comes from apt (`.ci/run` installs it); `playwright install` is never run. Under the
page's strict CSP the tests wait with locators, never with `wait_for_function` strings.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright, expect
from sqlalchemy import func, select

from bot.channels.web import WebLimits
from bot.faq.knowledge import Knowledge, Language
from bot.storage.store import LeadRow, WebMessageRow, WebSessionRow
from tests.auxil.web import PHONE_TYPED, Clock, WebHost, sqlite_file_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = {
    "en": "Is Los Angeles a sanctuary city?",
    "es": "¿Los Ángeles es una ciudad santuario?",
}
WORDS = {
    "en": {
        "message": "Message",
        "send": "Send",
        "exit": "Quick exit",
        "delete": "Delete conversation",
        "switch": "Español",
    },
    "es": {
        "message": "Mensaje",
        "send": "Enviar",
        "exit": "Salida rápida",
        "delete": "Borrar conversación",
        "switch": "English",
    },
}
NEUTRAL = re.compile(r"^https://www\.google\.com/")


@pytest.fixture
async def web(tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[WebHost]:
    host = WebHost(sqlite_file_url(tmp_path), knowledge)
    await host.start()
    yield host
    await host.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (as .ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context()
    # The neutral page "Quick exit" leaves for is not fetched from the internet here.
    await opened.route(
        NEUTRAL, lambda route: route.fulfill(body="<p>Weather</p>", content_type="text/html")
    )
    yield opened
    await opened.close()


async def open_chat(context: BrowserContext, web: WebHost, lang: Language = "en") -> Page:
    page = await context.new_page()
    await page.goto(f"{web.url}/chat?lang={lang}")
    await expect(messages(page)).not_to_have_count(0)
    return page


def messages(page: Page) -> Any:
    return page.get_by_role("log").locator(".message")


async def send(page: Page, text: str, lang: Language = "en") -> None:
    await page.get_by_role("textbox", name=WORDS[lang]["message"]).fill(text)
    await page.get_by_role("button", name=WORDS[lang]["send"], exact=True).click()


async def count(web: WebHost, table: Any) -> int:
    async with web.host.runtime.store.reading() as session:  # type: ignore[union-attr]
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_question_and_a_booking_in_each_language(
    context: BrowserContext, web: WebHost, knowledge: Knowledge, lang: Language
) -> None:
    page = await open_chat(context, web, lang)
    texts = knowledge.texts[lang]
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(messages(page).first).to_have_attribute("lang", lang)
    await send(page, QUESTION[lang], lang)
    answer = knowledge.answer("is-la-sanctuary-city", lang)[:50]
    await expect(page.get_by_role("log")).to_contain_text(answer)
    await page.get_by_role("button", name=texts["button_book"]).last.click()
    await page.get_by_role("button", name=texts["button_agree"]).last.click()
    await expect(messages(page).last).to_contain_text(
        knowledge.texts[lang]["web_ask_contact"][:20]
    )
    await send(page, PHONE_TYPED, lang)
    await expect(messages(page).last).to_contain_text("?")
    await send(page, "Ana Prueba", lang)
    await page.get_by_role("button", name=texts["button_voicemail_no"]).last.click()
    await page.get_by_role("button", name=texts["button_confirm"], exact=True).last.click()
    await expect(messages(page).last).to_contain_text(re.compile(r"C-[A-Z0-9]{6}"))
    assert await count(web, LeadRow) == 1


async def test_the_language_switch_keeps_the_conversation(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web, "en")
    await send(page, QUESTION["en"])
    await expect(page.get_by_role("log")).to_contain_text(
        knowledge.answer("is-la-sanctuary-city", "en")[:40]
    )
    await page.get_by_role("link", name="Español", exact=True).click()
    await expect(page.get_by_role("textbox", name="Mensaje")).to_be_visible()
    await expect(page.get_by_role("button", name="Enviar", exact=True)).to_be_visible()
    await expect(page.get_by_role("log")).to_contain_text(QUESTION["en"])
    await expect(page.get_by_role("log")).to_contain_text(knowledge.texts["es"]["language_set"])
    await send(page, QUESTION["es"], "es")
    await expect(messages(page).last).to_have_attribute("lang", "es")


async def test_a_reload_restores_the_conversation_and_a_new_tab_starts_its_own(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web)
    await send(page, QUESTION["en"])
    answer = knowledge.answer("is-la-sanctuary-city", "en")[:40]
    await expect(page.get_by_role("log")).to_contain_text(answer)
    shown = await messages(page).count()
    await page.reload()
    await expect(messages(page)).to_have_count(shown)
    await expect(page.get_by_role("log")).to_contain_text(answer)
    other = await open_chat(context, web)
    await expect(other.get_by_role("log")).not_to_contain_text(QUESTION["en"])


async def test_quick_exit_deletes_the_conversation_and_leaves_for_good(
    context: BrowserContext, web: WebHost
) -> None:
    page = await open_chat(context, web)
    await send(page, QUESTION["en"])
    await expect(messages(page)).not_to_have_count(2)
    await page.get_by_role("button", name="Quick exit").click()
    await expect(page).to_have_url(NEUTRAL)
    await expect(page.get_by_text("Weather")).to_be_visible()
    for _ in range(200):  # the DELETE goes out as the page leaves
        if not await count(web, WebSessionRow):
            break
        await asyncio.sleep(0.05)
    assert await count(web, WebSessionRow) == 0
    assert await count(web, WebMessageRow) == 0
    await page.go_back()
    assert not page.url.startswith(web.url)


async def test_delete_conversation_clears_the_page_and_the_server(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web, "es")
    await send(page, QUESTION["es"], "es")
    await expect(messages(page)).not_to_have_count(2)
    await page.get_by_role("button", name="Borrar conversación").click()
    await expect(page.get_by_role("status")).to_have_text(
        knowledge.texts["es"]["web_status_deleted"]
    )
    await expect(messages(page)).to_have_count(0)
    assert await count(web, WebMessageRow) == 0
    assert await page.evaluate("() => sessionStorage.length") == 0


async def test_keyboard_only_and_focus_stays_where_the_person_is(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web)
    box = page.get_by_role("textbox", name="Message")
    await box.focus()
    await page.keyboard.type(QUESTION["en"])
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("log")).to_contain_text(
        knowledge.answer("is-la-sanctuary-city", "en")[:40]
    )
    await expect(box).to_be_focused()
    choice = page.get_by_role("button", name=knowledge.texts["en"]["button_book"]).last
    await choice.focus()
    await page.keyboard.press("Enter")
    await expect(
        page.get_by_role("button", name=knowledge.texts["en"]["button_agree"])
    ).to_be_visible()
    await expect(choice).to_be_focused()


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_no_accessibility_violation(
    context: BrowserContext, web: WebHost, lang: Language
) -> None:
    page = await open_chat(context, web, lang)
    await send(page, QUESTION[lang], lang)
    await expect(messages(page)).not_to_have_count(2)
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def test_a_phone_screen_of_360_pixels_never_scrolls_sideways(
    browser: Browser, web: WebHost
) -> None:
    context = await browser.new_context(viewport={"width": 360, "height": 640})
    try:
        page = await open_chat(context, web)
        await send(page, "a" * 300 + " https://example.org/" + "b" * 200)
        await expect(messages(page)).not_to_have_count(2)
        widths = await page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1]
        # A long answer scrolls the transcript, never the way out off the screen.
        await send(page, QUESTION["en"])
        await expect(page.get_by_role("log")).to_contain_text("general information")
        await expect(page.get_by_role("button", name="Quick exit")).to_be_in_viewport()
        await expect(page.get_by_role("textbox", name="Message")).to_be_in_viewport()
        box = await page.get_by_role("button", name="Quick exit").bounding_box()
        assert box is not None
        assert box["height"] >= 44
        assert box["width"] >= 44
        size = await page.get_by_role("textbox", name="Message").evaluate(
            "(element) => getComputedStyle(element).fontSize"
        )
        assert size == "16px"
    finally:
        await context.close()


async def test_hostile_text_stays_inert(context: BrowserContext, web: WebHost) -> None:
    page = await open_chat(context, web)
    hostile = (
        '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    )
    await send(page, hostile)
    await expect(messages(page).filter(has_text="<img src=x")).to_have_count(1)
    await expect(page.get_by_role("log").locator("img, script")).to_have_count(0)
    await expect(page).not_to_have_title("pwned")


async def test_only_the_chat_s_own_origin_is_requested_and_nothing_is_kept_on_the_device(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = await open_chat(context, web)
    await send(page, "my name is Rosa Secreta")
    await expect(page.get_by_role("log")).to_contain_text("Rosa Secreta")
    await expect(messages(page)).not_to_have_count(2)
    assert requested
    assert all(url.startswith(web.url + "/") for url in requested), requested
    assert await context.cookies() == []
    kept = await page.evaluate(
        "() => [JSON.stringify(Object.entries(sessionStorage)), localStorage.length]"
    )
    assert "Rosa" not in kept[0]
    assert kept[1] == 0
    assert set(await page.evaluate("() => Object.keys(sessionStorage)")) == {
        "chat.token",
        "chat.lang",
    }


async def test_a_turn_whose_answer_was_lost_is_retried_and_answered_once(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web)
    tries: list[str] = []

    async def lose_the_first_answer(route: Route) -> None:
        tries.append(route.request.post_data or "")
        if len(tries) == 1:
            await route.fetch()  # the server takes the turn; its answer never arrives
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/chat/api/turn", lose_the_first_answer)
    await send(page, QUESTION["en"])
    answer = knowledge.answer("is-la-sanctuary-city", "en")[:40]
    await expect(messages(page).filter(has_text=answer)).to_have_count(1)
    assert len(tries) == 2
    assert tries[0] == tries[1]  # the same client_msg_id
    await page.reload()
    await expect(messages(page).filter(has_text=answer)).to_have_count(1)
    await expect(messages(page).filter(has_text=QUESTION["en"])).to_have_count(1)


async def test_offline_and_back(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web)
    await context.set_offline(True)
    await send(page, QUESTION["en"])
    await expect(page.get_by_role("status")).to_have_text(
        knowledge.texts["en"]["web_status_offline"]
    )
    await context.set_offline(False)
    await expect(page.get_by_role("log")).to_contain_text(
        knowledge.answer("is-la-sanctuary-city", "en")[:40]
    )
    await expect(page.get_by_role("status")).to_have_text("")


async def test_too_many_messages_say_when_to_try_again_and_are_sent_then(
    tmp_path: Path, knowledge: Knowledge, context: BrowserContext
) -> None:
    web = WebHost(
        sqlite_file_url(tmp_path),
        knowledge,
        limits=WebLimits(session_turns=2, window=timedelta(seconds=4)),
    )
    await web.start()
    try:
        page = await open_chat(context, web, "es")  # the opening /start is one turn
        await send(page, "hola", "es")
        await send(page, QUESTION["es"], "es")
        await expect(page.get_by_role("status")).to_contain_text(
            "Está enviando mensajes muy rápido"
        )
        await expect(page.get_by_role("log")).to_contain_text(
            knowledge.answer("is-la-sanctuary-city", "es")[:40], timeout=15_000
        )
    finally:
        await web.stop()


async def test_without_javascript_the_firm_s_phone_is_there(
    browser: Browser, web: WebHost, knowledge: Knowledge
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(f"{web.url}/chat?lang=es")
        phone = page.get_by_role("link", name=re.compile("Llame a la oficina"))
        await expect(phone).to_be_visible()
        await expect(phone).to_have_attribute("href", "tel:+17035345588")
        await expect(page.get_by_text(knowledge.texts["es"]["web_noscript"])).to_be_visible()
    finally:
        await context.close()


async def test_a_number_that_looks_like_an_a_number_is_pointed_out_before_it_is_sent(
    context: BrowserContext, web: WebHost, knowledge: Knowledge
) -> None:
    page = await open_chat(context, web)
    before = await messages(page).count()
    await send(page, "my A-number is A123456789")
    await expect(page.get_by_text(knowledge.texts["en"]["web_hint_number"])).to_be_visible()
    await expect(messages(page)).to_have_count(before)
    await page.get_by_role("button", name=knowledge.texts["en"]["web_hint_send"]).click()
    await expect(messages(page)).not_to_have_count(before)


async def test_the_page_warns_before_the_session_expires_and_keeps_it_open(
    tmp_path: Path, knowledge: Knowledge, context: BrowserContext
) -> None:
    clock = Clock()
    web = WebHost(sqlite_file_url(tmp_path), knowledge, clock=clock)
    await web.start()
    try:
        page = await open_chat(context, web)
        await send(page, QUESTION["en"])
        await expect(messages(page)).not_to_have_count(2)
        clock.advance(minutes=29)
        await page.reload()
        await expect(page.get_by_text(knowledge.texts["en"]["web_expiring"])).to_be_visible()
        await page.get_by_role("button", name=knowledge.texts["en"]["web_extend"]).click()
        await expect(page.get_by_text(knowledge.texts["en"]["web_expiring"])).to_be_hidden()
        clock.advance(minutes=29)
        answers = page.get_by_role("log").locator(".assistant")
        before = await answers.count()
        await send(page, "what is SB 54")
        await expect(answers).not_to_have_count(before)
        await expect(page.get_by_role("status")).to_have_text("")
        assert await web.channel.close_idle() == 0
    finally:
        await web.stop()
