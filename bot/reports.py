"""What people and staff read about requests and the bot's use: the booking summary, /mydata,
staff notifications, /leads, /unanswered and /stats.

Pure functions of plain values (`bot.records`) and the texts of the FAQ; the dialogue renders
the commands with them and the notifier the staff messages, so both say the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.faq.knowledge import Knowledge, Language
from bot.matching.text import fold
from bot.records import Lead, PersonData, Stats, StoredLead, TimeWindow

UNANSWERED_SHOWN = 10
QUESTION_PREVIEW = 200
# Telegram refuses longer messages; a digest is cut into several below this.
MESSAGE_LIMIT = 4096


def zone_label(time_zone: str) -> str:
    """The city of an IANA time zone, as people say it ("America/Los_Angeles": "Los Angeles")."""
    return time_zone.rsplit("/", 1)[-1].replace("_", " ")


class LeadWriter:
    """Describes requests in the person's or the staff's language, times in the firm's zone."""

    def __init__(
        self, knowledge: Knowledge, time_zone: str, *, staff_language: Language = "en"
    ) -> None:
        self.knowledge = knowledge
        self.zone = zone_label(time_zone)
        self.staff_language = staff_language
        self._time_zone = ZoneInfo(time_zone)

    def text(self, language: Language, key: str, /, **values: str) -> str:
        """A text of the FAQ, placeholders filled in."""
        return self.knowledge.text(language, key, **values)

    def time(self, window: TimeWindow, language: Language) -> str:
        """A call window with its hours (the firm's, from firm.yaml) and the firm's time zone;
        "any time" alone."""
        if window == "any":
            return self.text(language, "time_any")
        label = self.knowledge.firm.call_windows.label(window, language)
        return self.text(language, "time_in_zone", window=label, zone=self.zone)

    def label(self, key: str, language: Language) -> str:
        """A button's label: a text, or for a call window (time_ and its name) the firm's own."""
        window = key.removeprefix("time_")
        if key != window and window != "any":
            return self.knowledge.firm.call_windows.label(window, language)
        return self.text(language, key)

    def in_zone(self, moment: datetime) -> datetime:
        """A moment in the firm's time zone."""
        return moment.astimezone(self._time_zone)

    def local_time(self, moment: datetime | None) -> str:
        """A moment as the clock in the firm's time zone shows it."""
        if moment is None:
            return ""
        return moment.astimezone(self._time_zone).strftime("%Y-%m-%d %H:%M")

    def describe(self, lead: Lead, language: Language) -> dict[str, str]:
        """The values of a staff notification."""
        return {
            "name": lead.name or self.text(language, "name_not_given"),
            "contact": lead.contact,
            "time": self.time(lead.preferred_time, language),
            "voicemail": self.voicemail(lead.voicemail_ok, language),
            "language": self.text(lead.language, "language_name"),
            "topic": lead.topic or self.text(language, "topic_none"),
            "received": self.text(
                language,
                "time_in_zone",
                window=self.local_time(lead.updated_at),
                zone=self.zone,
            ),
        }

    def notification(self, lead: Lead, kind: str) -> str:
        """The staff message of a new or updated request; an urgent one starts with the mark."""
        language = self.staff_language
        key = "staff_updated_lead" if kind == "updated" else "staff_new_lead"
        title = self.text(language, key, reference=lead.reference)
        if lead.urgent:
            title = f"{self.text(language, 'staff_urgent')} {title}"
        body = self.text(language, "staff_lead_body", **self.describe(lead, language))
        return f"{title}\n\n{body}"

    def voicemail(self, allowed: bool, language: Language) -> str:
        """Whether the firm may leave a voicemail, in words."""
        return self.text(language, "voicemail_yes" if allowed else "voicemail_no")


def my_data_report(writer: LeadWriter, data: PersonData, language: Language) -> str:
    """The answer to /mydata: everything stored about the person, and how to delete it."""
    if not data.has_session and not data.leads and not data.unanswered:
        return writer.text(language, "mydata_nothing")
    lines = [writer.text(language, "mydata_header")]
    if data.has_session:
        lines.append(
            writer.text(
                language, "mydata_session", language=writer.text(language, "language_name")
            )
        )
    if data.draft_step is not None:
        lines.append(writer.text(language, "mydata_draft"))
    for stored in data.leads:
        lead = stored.lead
        described = writer.describe(lead, language)
        lines.append(
            writer.text(
                language,
                "mydata_lead",
                reference=lead.reference,
                date=writer.local_time(lead.created_at)[:10],
                name=described["name"],
                contact=described["contact"],
                time=described["time"],
                voicemail=described["voicemail"],
                topic=described["topic"],
                status=writer.text(language, f"status_{stored.status}"),
            )
        )
    if data.unanswered:
        lines.append(writer.text(language, "mydata_questions", count=str(data.unanswered)))
    lines.append(writer.text(language, "mydata_forget"))
    return "\n\n".join(lines)


def status_line(writer: LeadWriter, stored: StoredLead) -> str:
    """Where a request stands, for the staff: who has it, and how often nobody answered."""
    language = writer.staff_language
    line = writer.text(language, f"staff_status_{stored.status}", owner=stored.owner or "?")
    if stored.unreached:
        line += "\n" + writer.text(language, "staff_unreached", count=str(stored.unreached))
    return line


def leads_report(writer: LeadWriter, leads: Sequence[StoredLead], *, only_open: bool) -> str:
    """The answer to /leads (the newest requests) and /leads open (those nobody has taken).

    References and where they stand, never a person's details: the bot does not track these
    answers, so it could not clear them from the staff chat when someone asks to be forgotten.
    The details are in each request's own message, which it does clear, and in the export.
    """
    language = writer.staff_language
    if not leads:
        return writer.text(language, "staff_leads_open_none" if only_open else "staff_leads_none")
    header = "staff_leads_open_header" if only_open else "staff_leads_header"
    lines = [writer.text(language, header)]
    for stored in leads:
        line = writer.text(
            language,
            "staff_open_line",
            reference=stored.lead.reference,
            received=writer.local_time(stored.lead.created_at),
            status=status_line(writer, stored).replace("\n", "; "),
        )
        urgent = writer.text(language, "staff_urgent") + " " if stored.lead.urgent else ""
        lines.append(f"{urgent}{line}")
    return "\n".join(lines)


def unanswered_report(writer: LeadWriter, questions: Sequence[tuple[str, str]]) -> str:
    """The answer to /unanswered: the most frequent questions, alike ones counted once."""
    language = writer.staff_language
    if not questions:
        return writer.text(language, "staff_unanswered_none")
    counts: Counter[str] = Counter()
    example: dict[str, tuple[str, str]] = {}
    for question_language, text in questions:
        key = fold(text)
        counts[key] += 1
        example.setdefault(key, (question_language, text))
    lines = [writer.text(language, "staff_unanswered_header")]
    for key, count in counts.most_common(UNANSWERED_SHOWN):
        question_language, text = example[key]
        lines.append(f"{count}x [{question_language}] {text[:QUESTION_PREVIEW]}")
    return "\n".join(lines)


def stats_report(writer: LeadWriter, stats: Stats | None) -> str:
    """The answer to /stats."""
    stats = stats or Stats()
    return writer.text(
        writer.staff_language,
        "staff_stats",
        questions=str(stats.questions),
        answer=str(stats.by_outcome.get("answer", 0)),
        suggest=str(stats.by_outcome.get("suggest", 0)),
        fallback=str(stats.by_outcome.get("fallback", 0)),
        en=str(stats.by_language.get("en", 0)),
        es=str(stats.by_language.get("es", 0)),
        leads=str(stats.leads),
        urgent=str(stats.urgent_leads),
    )
