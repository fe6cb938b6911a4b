"""Per-person flood control: a notice, then silence, and a booking in progress kept intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dialogue import ButtonPress, Command, Dialogue, TextMessage
from bot.dialogue.messages import Event
from bot.faq.knowledge import Knowledge
from bot.host.turns import ChatService, FloodGate, Incoming, Response
from bot.storage.store import Store

PERSON = 4242


def test_the_gate_allows_the_limit_then_one_notice_then_silence_until_the_minute_passes() -> None:
    gate = FloodGate(limit=3)
    start = datetime(2026, 11, 29, 12, tzinfo=UTC)
    verdicts = [gate.check("chat", start + timedelta(seconds=second)) for second in range(6)]
    assert verdicts == ["allow", "allow", "allow", "notice", "silence", "silence"]
    assert gate.check("other chat", start) == "allow"  # one person does not slow the others
    assert gate.check("chat", start + timedelta(seconds=60)) == "allow"
    gate.forget_idle(start + timedelta(minutes=5))
    assert gate.check("chat", start + timedelta(minutes=5)) == "allow"


async def test_a_booking_in_progress_survives_a_flood(
    dialogue: Dialogue, store: Store, knowledge: Knowledge
) -> None:
    now = [datetime(2026, 11, 29, 12, tzinfo=UTC)]
    service = ChatService(dialogue, store, flood_limit=3, clock=lambda: now[0])

    async def send(event: Event) -> Response:
        async with service.holding(PERSON) as chat_key:
            response = await service.handle(Incoming(PERSON, PERSON, "en", event))
            await service.delivered(chat_key, response, len(response.replies))
            return response

    await send(Command("book"))
    asking_contact = await send(ButtonPress("b:consent:yes"))
    assert asking_contact.replies[0].text == knowledge.texts["en"]["ask_contact"]
    await send(TextMessage("+1 213 555 0147"))  # the third message: the limit is reached
    notice = await send(TextMessage("Flora Flood"))
    assert [reply.text for reply in notice.replies] == [knowledge.text("en", "flood_notice")]
    assert (await send(TextMessage("hello?"))).replies == []
    now[0] += timedelta(minutes=1)
    after = await send(TextMessage("Flora Flood"))
    assert after.replies[0].text == knowledge.texts["en"]["ask_voicemail"]
    summary_on_the_way = await send(ButtonPress("b:voicemail:no"))
    assert summary_on_the_way.replies  # the booking goes on where it stopped
    data = await send(Command("mydata"))
    assert knowledge.texts["en"]["mydata_draft"] in data.replies[0].text
