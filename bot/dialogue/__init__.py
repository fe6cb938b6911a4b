"""The conversation, independent of any channel.

`Dialogue.handle(state, event, now=...)` returns the new state, the replies to send and the
effects to carry out (store a lead, keep an unanswered question, forget a person). Telegram and
the console chat both turn their input into these events and show these replies; neither
holds conversation logic of its own. The booking form is the table in `form.py`, drawn in
`bot/booking.mmd`.
"""

from bot.dialogue.engine import (
    ASK,
    BOOK,
    LANGUAGE,
    MORE_PREFIX,
    NONE_OF_THESE,
    QUESTION_PREFIX,
    TOPICS,
    URGENT_BOOK,
    Dialogue,
    Turn,
    records_needed,
)
from bot.dialogue.form import FORM, button_data
from bot.dialogue.messages import (
    Button,
    ButtonPress,
    Command,
    Effect,
    EndRelay,
    Event,
    ForgetUser,
    OtherMessage,
    QuestionAsked,
    RelayToStaff,
    Reply,
    SaveLead,
    SharedContact,
    TextMessage,
    UnansweredQuestion,
)
from bot.dialogue.state import BookingDraft, SessionState, decode_state, encode_state

__all__ = [
    "ASK",
    "BOOK",
    "FORM",
    "LANGUAGE",
    "MORE_PREFIX",
    "NONE_OF_THESE",
    "QUESTION_PREFIX",
    "TOPICS",
    "URGENT_BOOK",
    "BookingDraft",
    "Button",
    "ButtonPress",
    "Command",
    "Dialogue",
    "Effect",
    "EndRelay",
    "Event",
    "ForgetUser",
    "OtherMessage",
    "QuestionAsked",
    "RelayToStaff",
    "Reply",
    "SaveLead",
    "SessionState",
    "SharedContact",
    "TextMessage",
    "Turn",
    "UnansweredQuestion",
    "button_data",
    "decode_state",
    "encode_state",
    "records_needed",
]
