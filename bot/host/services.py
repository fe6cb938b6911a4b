"""The host's services: opened once when the process starts, closed when it stops.

The host opens the runtime (the FAQ, the database, the chat service), the staff notifier when
there is a way to post to the staff chats, and the periodic jobs, then starts each channel with
the runtime. Replies owed to a chat (a staff member's message relayed to a person, a reply that
could not be delivered with its turn) are delivered by that chat's channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bot.chats import Channel as ChannelName
from bot.host.jobs import Jobs, StaffJobs
from bot.host.runtime import Runtime, Startup, open_runtime
from bot.host.server import HttpServer, build_host_app
from bot.host.turns import ChatService, Response, utc_now
from bot.metrics import Metrics
from bot.settings import Settings
from bot.staff.cards import StaffDesk, StaffPost
from bot.staff.notifier import Notifier, Sender

logger = logging.getLogger(__name__)

# A /forget is answered once the staff messages about the person are cleared, or after this.
FORGOTTEN_REPLY_WAIT_SECONDS = 5.0


class Channel(Protocol):
    """A channel at the host's edge: its routes on the host's server and its way of sending."""

    name: ChannelName

    def routes(self) -> Sequence[BaseRoute]:
        """The channel's routes on the host's HTTP server (none for long polling)."""
        ...

    async def start(self, runtime: Runtime) -> None:
        """Start taking chats, with the opened runtime."""
        ...

    async def stop(self) -> None:
        """Stop taking chats."""
        ...

    async def send(self, response: Response) -> int:
        """Deliver the replies of `response` to its chat, in order; how many were delivered."""
        ...


class Host:
    """The long-lived parts of the process, and the channels they serve."""

    def __init__(
        self,
        settings: Settings,
        startup: Startup,
        *,
        metrics: Metrics,
        channels: Sequence[Channel],
        staff_sender: Sender | None = None,
        serve: tuple[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._startup = startup
        self._channels = {channel.name: channel for channel in channels}
        self._staff_sender = staff_sender
        self.runtime: Runtime | None = None
        self.notifier: Notifier | None = None
        self.jobs: Jobs | None = None
        self._background: set[asyncio.Task[None]] = set()
        # Where the host's own server listens (the web chat beside long polling); a webhook
        # server serves `app()` itself instead.
        self._serve = serve
        self._server: HttpServer | None = None

    async def open(self) -> Runtime:
        """Open the database, start the notifier, the periodic jobs and the channels."""
        runtime = await open_runtime(
            self.settings,
            self._startup,
            metrics=self.metrics,
            on_lead=self._wake_notifier,
            on_forgotten=self._staff_cleared,
            on_owed=self._deliver_owed_soon,
        )
        self.runtime = runtime
        posts = StaffDesk(runtime.dialogue.writer)
        staff = None
        if self._staff_sender is not None:
            sender = self._staff_sender
            self.notifier = Notifier(
                runtime.store,
                sender,
                posts,
                clock=utc_now,
                first_retry=timedelta(seconds=self.settings.notify_retry_seconds),
                metrics=self.metrics,
            )

            async def post(chat_id: int, text: str) -> None:
                await sender.send(chat_id, StaffPost(text))

            staff = StaffJobs(
                chat_ids=self.settings.bot_admin_chat_ids,
                posts=posts,
                post=post,
                wake=self.notifier.wake,
                remind_after=timedelta(minutes=self.settings.urgent_reminder_minutes),
                open_after_hours=self.settings.open_leads_digest_hours,
            )
        self.jobs = Jobs(
            runtime.service,
            retention=timedelta(days=self.settings.lead_retention_days),
            redeliver=self.redeliver,
            clock=utc_now,
            staff=staff,
        )
        if self.notifier is None:
            logger.warning(
                "no Telegram bot to post with: requests are kept in the database but no staff "
                "chat is notified (see `python -m bot leads export`)"
            )
        elif not self.settings.bot_admin_chat_ids:
            logger.warning(
                "BOT_ADMIN_CHAT_IDS is not set: leads are kept in the database but no staff "
                "chat is notified (see `python -m bot leads export`)"
            )
        for channel in self._channels.values():
            await channel.start(runtime)
        if self.notifier is not None:
            self.notifier.start()
        self.jobs.start()
        if self._serve is not None:
            listen, port = self._serve
            self._server = HttpServer(
                self.app(),
                listen=listen,
                port=port,
                trusted_proxies=self.settings.web_trusted_proxies,
            )
            await self._server.start()
        return runtime

    async def close(self) -> None:
        """Stop the server, the channels and the background work, then close the database."""
        if self._server is not None:
            await self._server.stop()
            self._server = None
        for channel in self._channels.values():
            await channel.stop()
        if self.jobs is not None:
            await self.jobs.stop()
        if self.notifier is not None:
            await self.notifier.stop()
        for task in list(self._background):
            task.cancel()
        if self.runtime is not None:
            await self.runtime.close()

    def app(self, routes: Sequence[BaseRoute] = ()) -> Starlette:
        """The ASGI app of the host's server: `routes`, each channel's, /healthz and /metrics."""
        everything = [*routes]
        for channel in self._channels.values():
            everything.extend(channel.routes())
        return build_host_app(healthy=self.healthy, metrics=self.metrics, routes=everything)

    async def healthy(self) -> bool:
        """Whether the database answers (on SQLite, whether a write can take its lock)."""
        return self.runtime is not None and await self.runtime.store.healthy()

    def _wake_notifier(self) -> None:
        if self.notifier is not None:
            self.notifier.wake()

    async def _staff_cleared(self) -> None:
        notifier = self.notifier
        if notifier is None:
            return
        try:
            async with asyncio.timeout(FORGOTTEN_REPLY_WAIT_SECONDS):
                await notifier.caught_up()
        except TimeoutError:
            logger.info("the staff messages of a forgotten person are still being cleared")

    def _deliver_owed_soon(self, chat_key: str) -> None:
        """Deliver what a chat is owed now, beside the turn that owed it (a staff reply)."""
        task = asyncio.get_running_loop().create_task(self._deliver_owed(chat_key))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver_owed(self, chat_key: str) -> None:
        try:
            await self.redeliver(chat_key)
        except Exception:  # the periodic redelivery tries again
            logger.exception("could not deliver the replies a chat is owed")

    async def redeliver(self, chat_key: str) -> None:
        """Deliver, through its channel, what a chat is still owed (also a periodic job)."""
        runtime = self.runtime
        if runtime is None:
            return
        service: ChatService = runtime.service
        owed = await service.owed(chat_key)
        if owed is None:
            return
        channel = self._channels.get(owed.channel)
        if channel is None:
            return  # its channel is not served by this process; one that serves it will
        async with service.holding(owed.chat_id, owed.channel):
            response = await service.owed(chat_key)  # a turn may have delivered them meanwhile
            if response is None:
                return
            delivered = await channel.send(response)
            await service.delivered(chat_key, response, delivered)
        logger.info("delivered %d owed replies chat=%s", delivered, chat_key[:8])
