"""The command line: `python -m bot ask|chat|faq check|faq eval` (also the `faqbot` script)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.console import run_console, typed_lines
from bot.dialogue import Dialogue
from bot.evaluation import evaluate
from bot.faqcheck import check_faq
from bot.knowledge import FaqError, Knowledge, Language, load_eval_set, load_knowledge
from bot.matching import Matcher, MatchResult
from bot.settings import load_settings

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command and option."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="A bilingual FAQ and booking assistant for an immigration law firm.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="answer one question (or one per line from stdin)")
    ask.add_argument("question", help='the question, or "-" to read one per line from stdin')
    ask.add_argument("--lang", choices=["en", "es"], help="language hint (default: detect)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--lang", choices=["en", "es"], help="start in this language")

    faq = commands.add_parser("faq", help="check or evaluate the FAQ content")
    faq_commands = faq.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    check = faq_commands.add_parser("check", help="validate the FAQ files (exit 1 on errors)")
    check.add_argument(
        "--max-age-days",
        type=int,
        help="warn about entries reviewed longer ago (default: FAQ_REVIEW_MAX_AGE_DAYS, 365)",
    )
    evaluation = faq_commands.add_parser("eval", help="accuracy and latency on the eval set")
    evaluation.add_argument(
        "--set", type=Path, help="evaluation file (default: FAQ_DIR/eval/questions.yaml)"
    )
    evaluation.add_argument("--misses", action="store_true", help="list every wrong answer")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status."""
    arguments = build_parser().parse_args(argv)
    settings = load_settings()
    if arguments.command == "faq" and arguments.faq_command == "check":
        max_age = arguments.max_age_days or settings.faq_review_max_age_days
        report = check_faq(settings.faq_dir, today=datetime.now(UTC).date(), max_age_days=max_age)
        for problem in report.problems:
            print(problem)
        print(report.summary)
        return EXIT_OK if report.ok else EXIT_PROBLEMS

    try:
        knowledge = load_knowledge(settings.faq_dir)
    except FaqError as error:
        print(error, file=sys.stderr)
        print("The FAQ has errors: run `python -m bot faq check`.", file=sys.stderr)
        return EXIT_PROBLEMS
    matcher = Matcher(knowledge)

    if arguments.command == "ask":
        return _ask(knowledge, matcher, arguments.question, arguments.lang, arguments.json)
    if arguments.command == "chat":
        dialogue = Dialogue(knowledge, matcher)
        run_console(dialogue, knowledge, typed_lines(), print, language=arguments.lang)
        return EXIT_OK
    eval_path = arguments.set or settings.faq_dir / "eval" / "questions.yaml"
    evaluation = evaluate(matcher, load_eval_set(eval_path))
    print(f"evaluation set: {eval_path}")
    print("\n".join(evaluation.lines(show_misses=arguments.misses)))
    return EXIT_OK


def _ask(
    knowledge: Knowledge,
    matcher: Matcher,
    question: str,
    language: Language | None,
    as_json: bool,
) -> int:
    questions: Sequence[str] | TextIO = sys.stdin if question == "-" else [question]
    for line in questions:
        text = line.rstrip("\r\n") if question == "-" else line
        result = matcher.match(text, language)
        if as_json:
            print(json.dumps(ask_json(knowledge, result), ensure_ascii=False), flush=True)
        else:
            print(ask_text(knowledge, result), flush=True)
    return EXIT_OK


def ask_json(knowledge: Knowledge, result: MatchResult) -> dict[str, object]:
    """Return the documented JSON object for one answered question."""
    shape = result.to_json()
    if result.outcome == "answer" and result.entry_id is not None:
        shape["answer"] = knowledge.answer(result.entry_id, result.language)
    return shape


def ask_text(knowledge: Knowledge, result: MatchResult) -> str:
    """Return what a person reading a terminal should see for one question."""
    language = result.language
    if result.outcome == "answer" and result.entry_id is not None:
        return "\n".join(
            (
                knowledge.answer(result.entry_id, language),
                knowledge.source_label(result.entry_id, language),
            )
        )
    if result.outcome == "suggest":
        lines = [knowledge.text(language, "suggest_header")]
        lines += [f"  - {suggestion.question}" for suggestion in result.suggestions]
        return "\n".join(lines)
    return knowledge.text(language, "fallback")


def run() -> None:
    """Console-script entry point: exit with the command's status."""
    sys.exit(main())
