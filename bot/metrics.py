"""Prometheus metrics of the running bot (`GET /metrics` in webhook mode).

Counts and timings only: no label ever holds a chat, a name, a phone number or message text.
Each `Metrics` has its own registry, so that tests and several bots in one process never share
counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The bot's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "faqbot_updates_received",
            "Updates received from Telegram, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "faqbot_updates_duplicate",
            "Updates Telegram delivered again and that were not handled twice",
            registry=self.registry,
        )
        self.replies = Counter(
            "faqbot_questions_answered",
            "Questions by outcome (answer, suggest, fallback) and language",
            ["outcome", "language"],
            registry=self.registry,
        )
        self.urgent = Counter(
            "faqbot_urgent_messages", "Messages read as a crisis", registry=self.registry
        )
        self.leads = Counter(
            "faqbot_leads_created",
            "Consultation requests stored, by urgency",
            ["urgent"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "faqbot_staff_notifications",
            "Staff notifications by result (sent, retried, failed)",
            ["result"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "faqbot_bot_api_errors",
            "Bot API calls that failed, by kind (retry_after, network, bad_request, forbidden)",
            ["kind"],
            registry=self.registry,
        )
        self.flood = Counter(
            "faqbot_flood_refused",
            "Messages not handled because one person sent too many too fast",
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "faqbot_turn_seconds",
            "Time from an update's arrival until its replies are sent",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
