"""Scores the persona-written development set (eval-dev JSONL) with the project's own evaluation.

Run: `python benchmarks/devset.py [JSONL] [--out DIR] [--misses]`. Each line of the JSONL has
`lang` (en, es or mixed), `kind` (in, out, booking), `topic` and `urgent`; this maps each topic
to the entry that answers it, scores every question as `faq eval` does, once over all of them
and once per language group (mixed: Spanglish and other languages), and scores crisis
flagging apart (urgent items as `crisis`, the rest as `crisis-lookalike`, so that false alarms
are counted once). With `--out`, it also writes the two sets as YAML that `python -m bot faq
eval --set FILE` reads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from bot.faq.loader import load_knowledge
from bot.matching.evaluation import Category, EvalQuestion, evaluate
from bot.matching.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = Path("/work/shared/eval-dev/questions.jsonl")

# The entry that states what each `in` topic asks.
ENTRY_OF_TOPIC = {
    "approved": "la-law-approved",
    "data": "city-data-sharing",
    "police": "police-and-deportations",
    "protected": "who-is-protected",
    "why": "why-la-passed-the-law",
    "sb54": "california-sb54",
    "relation": "california-sb54",
    "mass": "mass-deportations",
    "supporters": "reactions-to-the-law",
    "critics": "reactions-to-the-law",
    "officials": "reactions-to-the-law",
    "significance": "what-it-means-for-immigrants",
    "source": "news-source",
    "contact_phone": "contact-the-firm",
    "contact_email": "contact-the-firm",
    "contact_web": "contact-the-firm",
    "disclaimer": "is-this-legal-advice",
    "bot": "what-can-this-bot-do",
}
# The category each `out` topic is scored as.
CATEGORY_OF_OUT_TOPIC: dict[str, Category] = {
    "near_miss_fact": "near-miss",
    "personal_outcome": "personal-case",
}


def _labelled(row: dict[str, Any]) -> dict[str, Any]:
    lang = "es" if row["lang"] == "es" else "en"
    if row["kind"] == "booking":
        return {"lang": lang, "category": "booking", "expect": "book", "q": row["question"]}
    if row["kind"] == "in":
        expect = ENTRY_OF_TOPIC[row["topic"]]
        return {"lang": lang, "category": "in-scope", "expect": expect, "q": row["question"]}
    category = CATEGORY_OF_OUT_TOPIC.get(row["topic"], "out-of-scope")
    return {"lang": lang, "category": category, "expect": "out-of-scope", "q": row["question"]}


def _crisis(row: dict[str, Any]) -> dict[str, Any]:
    lang = "es" if row["lang"] == "es" else "en"
    category = "crisis" if row["urgent"] else "crisis-lookalike"
    item = {"lang": lang, "category": category, "expect": "out-of-scope", "q": row["question"]}
    if row["urgent"]:
        item["urgent"] = True
    return item


def main() -> None:
    """Score the development set, overall and per language group."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", type=Path, nargs="?", default=DEFAULT_SET)
    parser.add_argument("--out", type=Path, help="write dev-answers.yaml and dev-crisis.yaml")
    parser.add_argument("--misses", action="store_true", help="list every wrong answer")
    arguments = parser.parse_args()
    rows = [json.loads(line) for line in arguments.jsonl.read_text("utf-8").splitlines() if line]
    answers = [_labelled(row) for row in rows]
    crises = [_crisis(row) for row in rows]
    if arguments.out:
        arguments.out.mkdir(parents=True, exist_ok=True)
        for name, items in (("dev-answers.yaml", answers), ("dev-crisis.yaml", crises)):
            text = yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=1000)
            (arguments.out / name).write_text(text, "utf-8")
    matcher = Matcher(load_knowledge(ROOT / "faq"))
    for name in ("all", "en", "es", "mixed"):
        chosen = [
            EvalQuestion(**item)
            for row, item in zip(rows, answers, strict=True)
            if name in ("all", row["lang"])
        ]
        print(f"== {name}: {len(chosen)} questions")
        print("\n".join(evaluate(matcher, chosen).lines(show_misses=arguments.misses)[:-3]))
    crisis = evaluate(matcher, [EvalQuestion(**item) for item in crises])
    print("== crisis, all 240")
    print("\n".join(crisis.lines()[1:]))
    for question, result in crisis.misses if arguments.misses else []:
        print(f"CRISIS MISS [{question.kind}] {question.q!r} urgent={result.urgent}")


if __name__ == "__main__":
    main()
