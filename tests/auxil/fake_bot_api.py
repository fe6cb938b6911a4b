"""A small fake Telegram Bot API server for end-to-end tests, on 127.0.0.1.

It speaks HTTP/1.1 with asyncio streams, implements the methods the bot calls with real
long polling of getUpdates (or delivers updates to a webhook, retrying failed deliveries as
Telegram does), checks what Telegram checks (empty or over-long text, broken HTML or
MarkdownV2, unknown methods, unknown messages), and records everything the bot sent, so tests
can act as Telegram users and assert on what they and the staff chat received.

`Conditions` make it behave like Telegram under load: latency, flood limits answered with 429
and `retry_after` (about one message a second per chat, 20 a minute per group, 30 a second
overall), and injected faults (429, 502, connections dropped before or after the call took
effect).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl

TEXT_LIMIT = 4096
WEBHOOK_RETRIES = 5
WEBHOOK_RETRY_SECONDS = 0.2
# Calls that count against the flood limits, and calls that can fail.
_LIMITED_METHODS = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup"})
_RELIABLE_METHODS = frozenset({"getupdates", "getme", "setwebhook", "deletewebhook"})
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
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _chat_of(params: dict[str, Any]) -> int | None:
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


class _DroppedConnection(Exception):
    """The connection is closed without an answer (the call may or may not have happened)."""


@dataclass
class Conditions:
    """How the fake behaves: Telegram's latency, flood limits and faults."""

    latency: tuple[float, float] = (0.0, 0.0)  # seconds, uniform
    flood_limits: bool = False
    per_chat_burst: int = 3  # a private chat may get a short burst, then about 1 a second
    per_chat_per_second: float = 1.0
    group_per_minute: int = 20
    overall_per_second: int = 30
    fault_rate: float = 0.0  # share of calls (other than getUpdates) that fail
    seed: int = 0


class _Bucket:
    """A token bucket: `capacity` calls at once, refilled at `rate` a second."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take a token; return 0, or how many seconds until one is free."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


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
    reply_to: int | None = None

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
    conditions: Conditions = field(default_factory=Conditions)
    # Webhook deliveries: (update_id, HTTP status or 0 for a failed connection).
    deliveries: list[tuple[int, int]] = field(default_factory=list)
    refused_with_429: int = 0
    injected_faults: int = 0
    # A load balancer: webhook deliveries go to these URLs in turn, instead of the one set.
    webhook_targets: list[str] | None = None
    # Chats where the bot is an administrator (it may delete other members' messages there).
    admin_in: set[int] = field(default_factory=set)
    # Messages people sent in group chats, as the group shows them: (chat, message id) -> text.
    member_messages: dict[tuple[int, int], str] = field(default_factory=dict)
    # Chats whose sendMessage calls take this many seconds before Telegram answers.
    slow_sends_to: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Condition()
        self._new_message = asyncio.Condition()
        self._server: asyncio.AbstractServer | None = None
        self._confirmed_offset = 0
        self._by_chat: dict[int, list[SentMessage]] = defaultdict(list)
        self._random = random.Random(self.conditions.seed)
        self._chat_buckets: dict[int, _Bucket] = {}
        self._group_buckets: dict[int, _Bucket] = {}
        self._overall = _Bucket(
            self.conditions.overall_per_second, self.conditions.overall_per_second
        )
        self._webhook_queue: asyncio.Queue[tuple[dict[str, Any], int]] = asyncio.Queue()
        self._webhook_workers: list[asyncio.Task[None]] = []
        self._webhook_client: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for worker in self._webhook_workers:
            worker.cancel()
        for worker in self._webhook_workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._webhook_workers = []
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- acting as Telegram users ----------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update for the bot (getUpdates, or the webhook when one is set)."""
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **update}
        self.updates.append(full)
        message = update.get("message")
        if message is not None and message["chat"]["type"] != "private" and "text" in message:
            self.member_messages[(message["chat"]["id"], message["message_id"])] = message["text"]
        if self.webhook is not None:
            self._webhook_queue.put_nowait((full, 0))
        async with self._new_update:
            self._new_update.notify_all()
        return update_id

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return list(self._by_chat.get(chat_id, ()))

    def chat_shows(self, chat_id: int) -> list[str]:
        """Every text a member of a chat can read in it now: the bot's messages as last edited
        and the members' own messages not deleted."""
        bots = [message.text for message in self._by_chat.get(chat_id, ())]
        members = [text for (chat, _), text in self.member_messages.items() if chat == chat_id]
        return bots + members

    def delivered(self, update_id: int) -> bool:
        """Whether the webhook answered this update with a 2xx."""
        return any(u == update_id and 200 <= status < 300 for u, status in self.deliveries)

    async def wait_until_delivered(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the webhook accepted `update_id`."""
        deadline = time.monotonic() + timeout
        while not self.delivered(update_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update_id} was never accepted by the webhook")
            await asyncio.sleep(0.01)

    # --- webhook delivery, retried as Telegram does ---------------------------------------------

    def _start_webhook_workers(self, connections: int) -> None:
        import httpx  # a test dependency: only the webhook tests deliver by HTTP

        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=5.0)
        while len(self._webhook_workers) < connections:
            self._webhook_workers.append(asyncio.create_task(self._deliver_forever()))

    async def _deliver_forever(self) -> None:
        while True:
            update, attempt = await self._webhook_queue.get()
            webhook = self.webhook
            if webhook is None:
                continue
            headers = {"Content-Type": "application/json"}
            if webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
            url = webhook["url"]
            if self.webhook_targets:
                url = self.webhook_targets[update["update_id"] % len(self.webhook_targets)]
            try:
                response = await self._webhook_client.post(
                    url, content=json.dumps(update), headers=headers
                )
                status = response.status_code
            except Exception:
                status = 0
            self.deliveries.append((update["update_id"], status))
            if not 200 <= status < 300 and attempt < WEBHOOK_RETRIES:
                await asyncio.sleep(WEBHOOK_RETRY_SECONDS * (attempt + 1))
                self._webhook_queue.put_nowait((update, attempt + 1))

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

    async def wait_until(
        self, what: str, condition: Callable[[], bool], *, timeout: float = 10.0
    ) -> None:
        """Wait until `condition` holds of what the chats show (messages sent, edited or
        deleted); fail naming `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        async with self._new_message:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"never happened: {what}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)

    async def _changed(self) -> None:
        async with self._new_message:
            self._new_message.notify_all()

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
                try:
                    status, payload = await self._dispatch(
                        method, path, headers, body, gone=reader.at_eof
                    )
                except _DroppedConnection:
                    break
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
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        *,
        gone: Callable[[], bool] = lambda: False,
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
        name = api_method.lower()
        drop_after = False
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            slow = self.slow_sends_to.get(_chat_of(params) or 0) if name == "sendmessage" else None
            if slow:
                # The call is on its way for this long: a sender that dies meanwhile (its
                # connection closed) never reaches Telegram.
                await asyncio.sleep(slow)
                if gone():
                    raise _DroppedConnection
            if name not in _RELIABLE_METHODS:
                low, high = self.conditions.latency
                if high > 0:
                    await asyncio.sleep(self._random.uniform(low, high))
                drop_after = self._inject_fault()
            if name in _LIMITED_METHODS and self.conditions.flood_limits:
                self._check_flood_limits(params)
            result = await handler(params)
        except ApiError as error:
            self.errors.append((api_method, error.code, error.description))
            answer: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                answer["parameters"] = {"retry_after": error.retry_after}
            return error.code, answer
        if drop_after:
            raise _DroppedConnection
        return 200, {"ok": True, "result": result}

    def _inject_fault(self) -> bool:
        """Maybe fail this call; return True when it should take effect, then drop."""
        if self._random.random() >= self.conditions.fault_rate:
            return False
        self.injected_faults += 1
        kind = self._random.choice(("429", "502", "drop-before", "drop-after"))
        if kind == "429":
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if kind == "502":
            raise ApiError(502, "Bad Gateway")
        if kind == "drop-before":
            raise _DroppedConnection
        return True

    def _check_flood_limits(self, params: dict[str, Any]) -> None:
        chat_id = int(params.get("chat_id", 0))
        conditions = self.conditions
        if chat_id < 0:
            bucket = self._group_buckets.setdefault(
                chat_id,
                _Bucket(conditions.group_per_minute, conditions.group_per_minute / 60),
            )
        else:
            bucket = self._chat_buckets.setdefault(
                chat_id, _Bucket(conditions.per_chat_burst, conditions.per_chat_per_second)
            )
        wait = max(bucket.take(), self._overall.take())
        if wait > 0:
            self.refused_with_429 += 1
            seconds = max(1, round(wait + 0.49))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)

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
        self._start_webhook_workers(int(params.get("max_connections") or 40))
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        webhook = self.webhook or {}
        return {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self._webhook_queue.qsize(),
            "allowed_updates": webhook.get("allowed_updates") or [],
        }

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
                # As on Telegram, an update once confirmed is never given again, even to a new
                # process that starts from offset 0.
                pending = [u for u in self.updates if u["update_id"] >= self._confirmed_offset]
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
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        message = SentMessage(
            self.next_message_id(),
            chat_id,
            text,
            markup,
            removed,
            int(reply_to) if reply_to is not None else None,
        )
        self.sent.append(message)
        self._by_chat[chat_id].append(message)
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
        text = parse_text(str(params.get("text", "")), params.get("parse_mode"))
        markup = params.get("reply_markup")
        if markup is not None:
            self._check_markup(markup)
        if text == message.text and markup == message.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.text = text
        message.reply_markup = markup
        await self._changed()
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "text": message.text,
        }

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = params.get("reply_markup")
        await self._changed()
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

    async def _api_deletemessage(self, params: dict[str, Any]) -> bool:
        chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        own = self._by_chat.get(chat_id, [])
        for message in own:
            if message.message_id == message_id:
                own.remove(message)
                await self._changed()
                return True
        if (chat_id, message_id) in self.member_messages:
            if chat_id not in self.admin_in:
                raise ApiError(400, "Bad Request: message can't be deleted")
            del self.member_messages[(chat_id, message_id)]
            await self._changed()
            return True
        raise ApiError(400, "Bad Request: message to delete not found")

    def _find(self, params: dict[str, Any]) -> SentMessage:
        for message in self._by_chat.get(int(params.get("chat_id", 0)), ()):
            if message.message_id == int(params.get("message_id", 0)):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")
