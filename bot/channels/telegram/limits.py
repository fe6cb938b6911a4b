"""Telegram's flood limits and faults: python-telegram-bot's AIORateLimiter, and more.

`AIORateLimiter` keeps the bot under 30 messages a second overall and 20 a minute per group,
and retries a call refused with 429 after its `retry_after`. Telegram also limits each private
chat to about one message a second, and sometimes answers 5xx or drops a connection; this
subclass adds a limiter per private chat (short bursts allowed) and a bounded retry with
backoff for those faults. A call that was perhaps carried out (a dropped connection after the
request went out) may be repeated: a repeated reply is acceptable, a lost one is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

CHAT_BURST = 3  # a private chat may receive a short burst, then about one message a second
CHAT_PERIOD_SECONDS = 3.0
RETRY_AFTER_ATTEMPTS = 4
NETWORK_ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 0.25
MAX_CHAT_LIMITERS = 4096
# Calls on their way at once. Beyond some dozens, more only queue inside the HTTP client,
# whose connection pool scans every connection for every request: past a few hundred calls at
# once, that scanning took more CPU than the bot's own work (measured by benchmarks/load.py).
# Waiting here costs nothing; the connection pool is made this size.
MAX_CALLS_IN_FLIGHT = 8

OnError = Callable[[str], None]


class TelegramLimiter(AIORateLimiter):
    """AIORateLimiter with a limiter per private chat and retries of transient faults."""

    def __init__(
        self,
        *,
        on_error: OnError | None = None,
        messages_per_second: float = 30,
        chat_burst: int = CHAT_BURST,
        chat_period: float = CHAT_PERIOD_SECONDS,
    ) -> None:
        super().__init__(overall_max_rate=messages_per_second, max_retries=RETRY_AFTER_ATTEMPTS)
        self._chat_limiters: dict[int, AsyncLimiter] = {}
        self._chat_burst = chat_burst
        self._chat_period = chat_period
        self._on_error = on_error or (lambda _kind: None)
        self._in_flight = asyncio.Semaphore(MAX_CALLS_IN_FLIGHT)

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            if len(self._chat_limiters) > MAX_CHAT_LIMITERS:
                idle = [
                    key
                    for key, value in self._chat_limiters.items()
                    if value.has_capacity(CHAT_BURST)
                ]
                for key in idle:
                    del self._chat_limiters[key]
            limiter = AsyncLimiter(self._chat_burst, self._chat_period)
            self._chat_limiters[chat_id] = limiter
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send one Bot API request within the limits, retrying what is worth retrying."""
        chat_id = data.get("chat_id")
        limiter: AsyncLimiter | contextlib.nullcontext[None] = contextlib.nullcontext()
        if isinstance(chat_id, int) and chat_id > 0:
            limiter = self._chat_limiter(chat_id)
        in_flight = self._in_flight

        async def bounded(*call_args: Any, **call_kwargs: Any) -> Any:
            # Taken only for the call itself, not while a limiter makes it wait.
            async with in_flight:
                return await callback(*call_args, **call_kwargs)

        backoff = FIRST_BACKOFF_SECONDS
        for attempt in range(1, NETWORK_ATTEMPTS + 1):
            try:
                async with limiter:
                    return await super().process_request(
                        bounded, args, kwargs, endpoint, data, rate_limit_args
                    )
            except RetryAfter:
                self._on_error("retry_after")
                raise  # AIORateLimiter already waited and retried as often as it should
            except BadRequest:
                self._on_error("bad_request")
                raise
            except NetworkError:  # 5xx, timeouts, dropped connections
                self._on_error("network")
                if attempt == NETWORK_ATTEMPTS:
                    raise
                logger.info("Bot API %s failed (attempt %d), retrying", endpoint, attempt)
                await asyncio.sleep(backoff)
                backoff *= 2
        raise AssertionError("unreachable")  # pragma: no cover
