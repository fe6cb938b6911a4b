"""The web chat's channel: the page, its loader and the JSON API under `/chat`, on the host's
server (see DESIGN.md, "The web chat").

A session is a random 256-bit token the page keeps in `sessionStorage` and sends as
`Authorization: Bearer`; the database keeps only its hash. A turn is held like a Telegram
update (one at a time per chat, across processes) and is idempotent on its `client_msg_id`:
its message and replies are written in the turn's own transaction, and a retry is answered
from them. Every response carries the same strict headers; no cookie is ever set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.web.limits import SlidingWindow, WebLimits
from bot.channels.web.page import PageTexts, render_loader, render_page
from bot.channels.web.transcript import (
    IDLE_AFTER,
    Body,
    Message,
    Sender,
    Transcripts,
    TurnTranscript,
    WebSession,
    event_of,
)
from bot.chats import WEB, Channel
from bot.faq.knowledge import Knowledge, Language
from bot.host.runtime import Runtime
from bot.host.server import BodyTooLargeError, read_capped_body
from bot.host.turns import Incoming, utc_now
from bot.host.turns import Response as ChatResponse
from bot.matching.language import parse_language
from bot.settings import Settings
from bot.storage.store import database_unavailable

logger = logging.getLogger(__name__)

# A turn's JSON: a 4,096-character text (Telegram's limit, up to 4 bytes each) and its id.
MAX_BODY_BYTES = 20_000
MAX_TEXT = 4096
MAX_ID = 64
MAX_BUTTON = 64
COMMANDS = frozenset({"start", "book", "privacy", "mydata", "forget", "cancel", "help", "topics"})
CLEANUP_EVERY = 60.0
STATIC = {
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}


class ApiError(Exception):
    """An API request refused: its status, code, and the text key of its message."""

    def __init__(self, status: int, code: str, key: str, retry_after: int = 0) -> None:
        super().__init__(code)
        self.status, self.code, self.key, self.retry_after = status, code, key, retry_after


def _read_page_file(name: str) -> bytes:
    return resources.files("bot.channels.web").joinpath("static", name).read_bytes()


class WebChannel:
    """The chat on the firm's website, as a channel of the host."""

    name: Channel = WEB

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        limits: WebLimits | None = None,
    ) -> None:
        limits = limits or WebLimits()
        self._settings = settings
        self._clock = clock
        self._allowed = frozenset(settings.web_allowed_origins)
        self._per_session = SlidingWindow(limits.session_turns, limits.window)
        self._per_address = SlidingWindow(limits.address_requests, limits.window)
        self._files = {name: _read_page_file(name) for name in (*STATIC, "chat.html", "embed.js")}
        self._runtime: Runtime | None = None
        self._transcripts: Transcripts | None = None
        self._cleanup: asyncio.Task[None] | None = None

    # --- the channel ---------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """The page, its files and the API, under /chat."""
        return [
            Route("/chat", self._guarded(self.page), methods=["GET"]),
            Route("/chat/embed.js", self._guarded(self.embed), methods=["GET"]),
            Route("/chat/static/{name}", self._guarded(self.static), methods=["GET"]),
            Route(
                "/chat/api/session",
                self._guarded(self.session, api=True),
                methods=["POST", "DELETE", "OPTIONS"],
            ),
            Route(
                "/chat/api/turn", self._guarded(self.turn, api=True), methods=["POST", "OPTIONS"]
            ),
            Route(
                "/chat/api/history",
                self._guarded(self.history, api=True),
                methods=["GET", "OPTIONS"],
            ),
        ]

    async def start(self, runtime: Runtime) -> None:
        """Take chats with `runtime`; close idle sessions in the background."""
        self._runtime = runtime
        self._transcripts = Transcripts(runtime.store)
        self._cleanup = asyncio.create_task(self._close_idle_loop(), name="web-idle-sessions")

    async def stop(self) -> None:
        """Stop closing idle sessions."""
        if self._cleanup is not None:
            self._cleanup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleanup
            self._cleanup = None

    async def send(self, response: ChatResponse) -> int:
        """Add what a web chat is owed (a staff member's message) to its transcript."""
        runtime, transcripts = self._ready()
        replies = [reply for reply in response.replies if not reply.toast]
        async with runtime.store.transaction() as session:
            language = await transcripts.language_of(session, response.chat_id)
            if language is None:
                return len(response.replies)  # the session was closed: nobody to show them to
            messages: list[tuple[Sender, Language, Body]] = [
                (
                    "firm" if reply.from_firm else "assistant",
                    language,
                    Body(reply.text, reply.buttons),
                )
                for reply in replies
            ]
            await transcripts.append(
                session, response.chat_id, messages, turn=None, now=self._clock()
            )
        return len(response.replies)

    def _ready(self) -> tuple[Runtime, Transcripts]:
        if self._runtime is None or self._transcripts is None:
            raise ApiError(503, "unavailable", "temporary_problem")
        return self._runtime, self._transcripts

    async def _close_idle_loop(self) -> None:
        while True:
            try:
                await self.close_idle()
            except Exception:
                logger.exception("could not close the idle web sessions; trying again later")
            await asyncio.sleep(CLEANUP_EVERY)

    async def close_idle(self) -> int:
        """Delete the sessions idle too long, with their messages and state; how many."""
        runtime, transcripts = self._ready()
        now = self._clock()
        closed = 0
        async with runtime.store.exclusive("web-sessions") as mine:
            if not mine:
                return 0
            for session_id in await transcripts.idle_sessions(now - IDLE_AFTER):
                async with runtime.service.holding(session_id, WEB) as chat_key:
                    await transcripts.close(session_id, chat_key)
                closed += 1
        self._per_session.forget_idle(now)
        self._per_address.forget_idle(now)
        if closed:
            logger.info("closed %d idle web sessions", closed)
        return closed

    # --- the page ------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The chat page, in the language of `?lang`, else of the browser."""
        language = self._page_language(request)
        runtime, _ = self._ready()
        parent = request.query_params.get("embed", "")
        texts = PageTexts(
            runtime.knowledge,
            language,
            self._settings.web_quick_exit_url,
            parent if parent in self._allowed else "",
        )
        html = render_page(self._files["chat.html"].decode("utf-8"), texts)
        return Response(html, media_type="text/html; charset=utf-8")

    async def embed(self, request: Request) -> Response:
        """The loader the firm's site includes."""
        runtime, _ = self._ready()
        origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
        loader = render_loader(
            self._files["embed.js"].decode("utf-8"),
            runtime.knowledge,
            origin,
            self._settings.web_quick_exit_url,
        )
        return Response(loader, media_type=STATIC_JS)

    async def static(self, request: Request) -> Response:
        """The page's script and style."""
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(self._files[name], media_type=STATIC[name])

    def _page_language(self, request: Request) -> Language:
        asked = parse_language(request.query_params.get("lang"))
        if asked is not None:
            return asked
        for part in request.headers.get("accept-language", "").split(","):
            found = parse_language(part.split(";")[0].strip())
            if found is not None:
                return found
        return "en"

    # --- the API -------------------------------------------------------------------------------

    async def session(self, request: Request) -> Response:
        """POST: open a session (or extend the one of the token given); DELETE: close it."""
        runtime, transcripts = self._ready()
        now = self._clock()
        if request.method == "DELETE":
            found = await self._authorized(request)
            async with runtime.service.holding(found.id, WEB) as chat_key:
                await transcripts.close(found.id, chat_key)
            logger.info("a web session was deleted")
            return Response(status_code=204)
        if _bearer(request) is not None:
            found = await self._authorized(request)
            await transcripts.touch(found.id, now, None)
            token = _bearer(request) or ""
            return self._json({"token": token, "expires_in": _seconds(IDLE_AFTER)}, 200)
        body = await _json_body(request)
        language = parse_language(str(body.get("lang", ""))) or self._page_language(request)
        token, _opened = await transcripts.open_session(language, now)
        return self._json({"token": token, "expires_in": _seconds(IDLE_AFTER)}, 201)

    async def turn(self, request: Request) -> Response:
        """Answer one message, button or command; the same `client_msg_id` again gets the same
        replies and changes nothing."""
        runtime, transcripts = self._ready()
        found = await self._authorized(request)
        body = await _json_body(request)
        client_msg_id, text, button, command = _parse_turn(body)
        wait = self._per_session.retry_after(str(found.id), self._clock())
        if wait:
            raise ApiError(429, "too_many_requests", "web_error_too_many", wait)
        service = runtime.service
        async with service.holding(found.id, WEB):
            earlier = await transcripts.turn_replies(found.id, client_msg_id)
            if earlier is not None:
                return self._replies(earlier)
            event = event_of(text=text, button=button, command=command)
            # What the history shows the person wrote: a button's label, a command as typed;
            # not the /start the page sends by itself when it opens.
            shown = text if text is not None else f"/{command}" if command != "start" else ""
            if button is not None:
                shown = await transcripts.button_label(found.id, button) or ""
            now = self._clock()
            keeper = TurnTranscript(transcripts, found.id, client_msg_id, shown, now)
            incoming = Incoming(found.id, None, found.language, event, channel=WEB)
            try:
                await service.handle(incoming, transcript=keeper)
            except Exception as error:
                if database_unavailable(error):
                    raise ApiError(503, "unavailable", "temporary_problem") from None
                logger.exception("a web turn could not be handled")
                raise ApiError(500, "internal", "internal_problem") from None
        written = [message for message in keeper.written if message.sender != "person"]
        return self._replies(written)

    async def history(self, request: Request) -> Response:
        """Every message after `?after=SEQ`, with who wrote it."""
        _, transcripts = self._ready()
        found = await self._authorized(request)
        after = request.query_params.get("after", "0")
        if not (after.isascii() and after.isdigit()) or len(after) > 9:
            raise ApiError(422, "invalid", "web_error_invalid")
        messages = await transcripts.history(found.id, int(after))
        remaining = IDLE_AFTER - (self._clock() - found.seen_at)
        return self._json(
            {
                "replies": [_shown(message, with_sender=True) for message in messages],
                "expires_in": max(0, _seconds(remaining)),
            },
            200,
        )

    async def _authorized(self, request: Request) -> WebSession:
        _, transcripts = self._ready()
        token = _bearer(request)
        if not token:
            raise ApiError(401, "unauthorized", "web_error_unauthorized")
        found = await transcripts.find(token, self._clock() - IDLE_AFTER)
        if found is None:
            raise ApiError(401, "unauthorized", "web_error_unauthorized")
        request.state.language = found.language
        return found

    def _replies(self, messages: list[Message]) -> Response:
        return self._json({"replies": [_shown(message) for message in messages]}, 200)

    def _json(self, content: dict[str, Any], status: int) -> Response:
        return JSONResponse(content, status_code=status)

    # --- what every response gets ------------------------------------------------------------

    def _guarded(
        self, handler: Callable[[Request], Awaitable[Response]], *, api: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            origin = request.headers.get("origin")
            allowed = origin is None or self._origin_allowed(request, origin)
            try:
                if api and not allowed:
                    raise ApiError(403, "forbidden", "web_error_forbidden")
                if api and request.method == "OPTIONS":
                    response: Response = Response(status_code=204)
                else:
                    address = request.client.host if request.client else "?"
                    wait = self._per_address.retry_after(address, self._clock())
                    if api and wait:
                        raise ApiError(429, "too_many_requests", "web_error_too_many", wait)
                    response = await handler(request)
            except ApiError as error:
                response = await self._error(request, error)
            self._secure(response)
            if api and origin is not None and allowed and origin in self._allowed:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
                response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response.headers["Vary"] = "Origin"
            return response

        return guarded

    def _origin_allowed(self, request: Request, origin: str) -> bool:
        own_host = request.headers.get("host", "")
        given_host = origin.partition("://")[2]
        return origin in self._allowed or (bool(own_host) and given_host == own_host)

    async def _error(self, request: Request, error: ApiError) -> Response:
        language: Language | None = getattr(request.state, "language", None)
        token = _bearer(request)
        if language is None and token and self._transcripts is not None:
            with contextlib.suppress(Exception):  # the error is answered all the same
                found = await self._transcripts.find(token, self._clock() - IDLE_AFTER)
                language = found.language if found else None
        language = language or self._page_language(request)
        knowledge = self._runtime.knowledge if self._runtime else None
        message = _error_text(knowledge, language, error)
        response = self._json({"error": error.code, "message": message}, error.status)
        if error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    def _secure(self, response: Response) -> None:
        ancestors = " ".join(["'self'", *sorted(self._allowed)])
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors {ancestors}"
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"


STATIC_JS = "text/javascript; charset=utf-8"


def _seconds(period: Any) -> int:
    return int(period.total_seconds())


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        raw = await read_capped_body(request, MAX_BODY_BYTES)
    except BodyTooLargeError:
        raise ApiError(413, "too_large", "web_error_too_large") from None
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid", "web_error_invalid") from None
    if not isinstance(parsed, dict):
        raise ApiError(422, "invalid", "web_error_invalid")
    return parsed


def _parse_turn(body: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(client_msg_id, text, button, command) of a turn's body; ApiError when malformed."""
    client_msg_id = body.get("client_msg_id")
    if not isinstance(client_msg_id, str) or not 1 <= len(client_msg_id) <= MAX_ID:
        raise ApiError(422, "invalid", "web_error_invalid")
    given = {key: body[key] for key in ("text", "button", "command") if key in body}
    if len(given) != 1:
        raise ApiError(422, "invalid", "web_error_invalid")
    ((kind, value),) = given.items()
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid", "web_error_invalid")
    if kind == "text":
        if len(value) > MAX_TEXT:
            raise ApiError(413, "too_large", "web_error_too_large")
        return client_msg_id, value, None, None
    if kind == "button":
        if len(value) > MAX_BUTTON:
            raise ApiError(422, "invalid", "web_error_invalid")
        return client_msg_id, None, value, None
    command = value.strip().lstrip("/").lower()
    if command not in COMMANDS:
        raise ApiError(422, "invalid", "web_error_invalid")
    return client_msg_id, None, None, command


def _shown(message: Message, *, with_sender: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "seq": message.seq,
        "text": message.text,
        "buttons": [{"label": button.label, "data": button.data} for button in message.buttons],
        "lang": message.language,
    }
    if with_sender:
        shown["from"] = message.sender
    return shown


def _error_text(knowledge: Knowledge | None, language: Language, error: ApiError) -> str:
    if knowledge is None:
        return error.code
    if error.key == "web_error_too_many":
        return knowledge.text(language, error.key, seconds=str(error.retry_after))
    return knowledge.text(language, error.key)
