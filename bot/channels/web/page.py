"""The chat page: one HTML file whose words are filled in from the same texts as the bot's,
escaped, in the page's language. The script and style are separate files (the page's CSP
allows no inline script or style)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from bot.faq.knowledge import Knowledge, Language

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
# The words the page and its script use, by the name the template gives them.
PAGE_WORDS = (
    "title",
    "heading",
    "message",
    "send",
    "quick_exit",
    "delete",
    "switch",
    "status_sending",
    "status_offline",
    "status_retrying",
    "status_deleted",
    "expiring",
    "extend",
    "hint_number",
    "hint_send",
    "from_firm",
    "noscript",
    "error_unauthorized",
)


@dataclass(frozen=True, slots=True)
class PageTexts:
    """The page's words in `language`."""

    knowledge: Knowledge
    language: Language
    # Where "Quick exit" leaves for (WEB_QUICK_EXIT_URL), replacing the chat in the tab's
    # history.
    exit_url: str
    # The origin of the firm's page the chat is embedded in (an allowed one), or "".
    parent: str = ""

    def values(self) -> dict[str, str]:
        """Every placeholder of the template, with its (unescaped) value."""
        knowledge, language = self.knowledge, self.language
        phone = knowledge.firm.phone
        other: Language = "es" if language == "en" else "en"
        values = {word: knowledge.text(language, f"web_{word}") for word in PAGE_WORDS}
        values.update(
            lang=language,
            other_lang=other,
            phone=phone,
            tel="tel:" + re.sub(r"[^0-9+]", "", phone),
            call=knowledge.text(language, "web_call"),
            parent=self.parent,
            exit=self.exit_url,
        )
        return values


def render_page(template: str, texts: PageTexts) -> str:
    """The template with every `{{name}}` replaced by its escaped value."""
    values = texts.values()
    return _PLACEHOLDER.sub(lambda found: html.escape(values[found.group(1)]), template)


def render_loader(template: str, knowledge: Knowledge, chat_origin: str, exit_url: str) -> str:
    """The embed loader, with the chat's origin, where "Quick exit" leaves the firm's page for,
    and the launcher's words in each language."""
    values = {
        "origin": chat_origin,
        "exit": exit_url,
        "launcher_en": knowledge.text("en", "web_launcher"),
        "launcher_es": knowledge.text("es", "web_launcher"),
        "close_en": knowledge.text("en", "web_close"),
        "close_es": knowledge.text("es", "web_close"),
    }
    return _PLACEHOLDER.sub(lambda found: json.dumps(values[found.group(1)]), template)
