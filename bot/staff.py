"""What the firm's staff read: lead notifications and the answers to admin commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.knowledge import Knowledge, Language
from bot.language import parse_language
from bot.storage import Lead, Stats
from bot.text import fold

UNANSWERED_SHOWN = 10
QUESTION_PREVIEW = 200


def describe_lead(knowledge: Knowledge, lead: Lead, language: Language) -> dict[str, str]:
    """Return the lead's fields as the texts show them."""
    return {
        "reference": lead.reference,
        "name": lead.name,
        "contact": lead.phone or lead.email or "",
        "time": knowledge.text(language, f"time_{lead.preferred_time}"),
        "voicemail": knowledge.text(
            language, "voicemail_yes" if lead.voicemail_ok else "voicemail_no"
        ),
        "language": knowledge.text(parse_language(lead.language) or "en", "language_name"),
        "topic": lead.topic or knowledge.text(language, "topic_none"),
        "received": lead.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "date": lead.created_at.strftime("%Y-%m-%d"),
    }


def lead_notification(knowledge: Knowledge, lead: Lead, kind: str, language: Language) -> str:
    """Return the staff message for a new or updated lead."""
    values = describe_lead(knowledge, lead, language)
    key = "staff_updated_lead" if kind == "updated" else "staff_new_lead"
    title = knowledge.text(language, key, reference=lead.reference)
    if lead.urgent:
        title = f"{knowledge.text(language, 'staff_urgent')}: {title}"
    return f"{title}\n\n{knowledge.text(language, 'staff_lead_body', **values)}"


def leads_report(knowledge: Knowledge, leads: Sequence[Lead], language: Language) -> str:
    """Return the answer to /leads."""
    if not leads:
        return knowledge.text(language, "staff_leads_none")
    parts = [knowledge.text(language, "staff_leads_header")]
    parts += [lead_notification(knowledge, lead, "new", language) for lead in leads]
    return "\n\n".join(parts)


def unanswered_report(
    knowledge: Knowledge, questions: Sequence[tuple[str, str]], language: Language
) -> str:
    """Return the answer to /unanswered: the most frequent questions, alike ones counted once."""
    if not questions:
        return knowledge.text(language, "staff_unanswered_none")
    counts: Counter[str] = Counter()
    example: dict[str, tuple[str, str]] = {}
    for question_language, text in questions:
        key = fold(text)
        counts[key] += 1
        example.setdefault(key, (question_language, text))
    lines = [knowledge.text(language, "staff_unanswered_header")]
    for key, count in counts.most_common(UNANSWERED_SHOWN):
        question_language, text = example[key]
        lines.append(f"{count}x [{question_language}] {text[:QUESTION_PREVIEW]}")
    return "\n".join(lines)


def stats_report(knowledge: Knowledge, stats: Stats, language: Language) -> str:
    """Return the answer to /stats."""
    return knowledge.text(
        language,
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
