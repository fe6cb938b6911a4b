"""A small fake Telegram Bot API server for end-to-end tests, on 127.0.0.1.

It speaks HTTP/1.1 with asyncio streams, implements the methods the bot calls with real
long polling of getUpdates, checks what Telegram checks (empty or over-long text, broken HTML
or MarkdownV2, unknown methods, unknown messages), and records everything the bot sent, so
tests can act as Telegram users and assert on what they and the staff chat received.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl

TEXT_LIMIT = 4096
BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Firm Assistant", "username": "firm_bot"}
# Form fields PTB sends as plain strings; every other field is JSON-encoded.
_STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
    }
)
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_MARKDOWN_V2_SPECIAL = set("_*[]()~`>#+-=|{}.!")


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class _HtmlChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
            )
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_text(text: str, parse_mode: str | None) -> str:
    """Return the text a user would see, or raise ApiError as Telegram would."""
    if parse_mode is None:
        visible = text
    elif parse_mode.upper() == "HTML":
        if _HTML_ENTITY.search(text):
            raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
        if re.search(r"<(?![a-zA-Z/])", text):
            raise ApiError(400, "Bad Request: can't parse entities: unexpected < character")
        checker = _HtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.open:
            raise ApiError(400, "Bad Request: can't parse entities: unclosed start tag")
        visible = html.unescape("".join(checker.text))
    elif parse_mode == "MarkdownV2":
        escaped = False
        for character in text:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character in _MARKDOWN_V2_SPECIAL:
                raise ApiError(
                    400, f"Bad Request: can't parse entities: character '{character}' is reserved"
                )
        visible = re.sub(r"\\(.)", r"\1", text)
    else:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(visible) > TEXT_LIMIT:
        raise ApiError(400, "Bad Request: message is too long")
    return visible


@dataclass
class SentMessage:
    """A message the bot sent, as the user sees it."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    removed_keyboard: bool = False

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the inline buttons."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            (button["text"], button.get("callback_data", ""))
            for row in self.reply_markup["inline_keyboard"]
            for button in row
        ]

    @property
    def asks_for_contact(self) -> bool:
        rows = (self.reply_markup or {}).get("keyboard") or []
        return any(button.get("request_contact") for row in rows for button in row)


@dataclass
class FakeBotApi:
    """The server and everything it saw."""

    token: str = "123456:TEST-TOKEN"
    host: str = "127.0.0.1"
    port: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blocked_chats: set[int] = field(default_factory=set)
    failures_left: dict[int, int] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Condition()
        self._new_message = asyncio.Condition()
        self._server: asyncio.AbstractServer | None = None
        self._confirmed_offset = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- acting as Telegram users ----------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update for the bot's next getUpdates; return its id."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update})
        async with self._new_update:
            self._new_update.notify_all()
        return update_id

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    async def wait_for_messages(
        self, chat_id: int, count: int, *, after: int = 0, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Wait until `chat_id` has received `count` messages beyond the first `after`."""
        deadline = time.monotonic() + timeout
        async with self._new_message:
            while len(self.messages_to(chat_id)) < after + count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [m.text[:80] for m in self.messages_to(chat_id)[after:]]
                    raise AssertionError(f"chat {chat_id}: expected {count} messages, got {got}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)
        return self.messages_to(chat_id)[after:]

    async def wait_until_consumed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed `update_id` (asked for a later offset)."""
        deadline = time.monotonic() + timeout
        while self._confirmed_offset <= update_id:
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update_id} was never fetched")
            await asyncio.sleep(0.01)

    # --- HTTP -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                method, path, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = (await reader.readline()).decode("latin-1").strip()
                    if not line:
                        break
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._dispatch(method, path, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping while a long poll waits
        finally:
            writer.close()

    async def _dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path.split("?")[0])
        if method != "POST" or match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, api_method = match.groups()
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        params = self._parse(headers.get("content-type", ""), body)
        self.calls.append((api_method, params))
        handler = getattr(self, f"_api_{api_method.lower()}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as error:
            self.errors.append((api_method, error.code, error.description))
            return error.code, {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _parse(content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if content_type.startswith("application/json"):
            parsed: dict[str, Any] = json.loads(body)
            return parsed
        params: dict[str, Any] = {}
        for key, value in parse_qsl(body.decode(), keep_blank_values=True):
            if key in _STRING_FIELDS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except json.JSONDecodeError:
                    params[key] = value
        return params

    # --- Bot API methods ----------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        self.webhook = params
        return True

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not (
                1 <= len(command["description"]) <= 256
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[params.get("language_code") or ""] = commands
        return True

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._confirmed_offset = max(self._confirmed_offset, offset)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0:
                    return pending[: int(params.get("limit") or 100)]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), remaining)

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.failures_left.get(chat_id, 0) > 0:
            self.failures_left[chat_id] -= 1
            raise ApiError(500, "Internal Server Error: try again")
        text = parse_text(str(params.get("text", "")), params.get("parse_mode"))
        markup = params.get("reply_markup")
        if markup is not None:
            self._check_markup(markup)
        removed = bool(markup and markup.get("remove_keyboard"))
        message = SentMessage(self.next_message_id(), chat_id, text, markup, removed)
        self.sent.append(message)
        async with self._new_message:
            self._new_message.notify_all()
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": text,
        }

    @staticmethod
    def _check_markup(markup: dict[str, Any]) -> None:
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
                if len(button.get("callback_data", "").encode()) > 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        self.callback_answers.append(params)
        return True

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        message.text = parse_text(str(params.get("text", "")), params.get("parse_mode"))
        message.reply_markup = params.get("reply_markup")
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "text": message.text,
        }

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = params.get("reply_markup")
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if markup is not None:
            self._check_markup(markup)
        message.reply_markup = markup
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "text": message.text,
        }

    def _find(self, params: dict[str, Any]) -> SentMessage:
        for message in self.sent:
            if message.chat_id == int(params.get("chat_id", 0)) and message.message_id == int(
                params.get("message_id", 0)
            ):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")
