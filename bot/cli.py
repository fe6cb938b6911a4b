"""The command line: `python -m bot ask|chat|faq check|faq eval` (also the `faqbot` script)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import httpx
from pydantic import ValidationError
from sqlalchemy import text

from bot.channels.console import format_reply, run_console, typed_lines
from bot.channels.web import WebChannel
from bot.channels.web.serve import serve_web
from bot.dialogue import Dialogue, SessionState, TextMessage, Turn
from bot.faq.knowledge import Knowledge, Language
from bot.faq.loader import FaqError, load_knowledge
from bot.faqcheck import check_faq
from bot.host.runtime import Startup, open_runtime, open_store, prepare, resolve_data_key
from bot.logs import configure_logging
from bot.matching.evaluation import eval_files, evaluate, load_eval_set, reading_report
from bot.matching.matcher import Matcher
from bot.records import StoredLead
from bot.settings import Settings, load_settings
from bot.staff.desk import Desk
from bot.storage.crypto import DataKeyError, Vault
from bot.storage.migrations import schema_status, upgrade
from bot.storage.sessions import create_engine
from bot.storage.store import SchemaError, Store

MISSING_CREDENTIALS_HELP = """TELEGRAM_BOT_TOKEN is not set.

To get a token, open Telegram, talk to @BotFather, send /newbot and follow the steps; it
answers with a token like 123456789:AAE... Then set it, for example in a .env file:

    TELEGRAM_BOT_TOKEN=123456789:AAE...

To try the bot without Telegram, run `python -m bot chat` (no token needed)."""

MISSING_WEBHOOK_SECRET = """WEBHOOK_URL is set but WEBHOOK_SECRET is not.

Telegram sends the secret with every update, and the bot refuses updates without it. Choose a
long random value (letters, digits, _ and -), for example:

    WEBHOOK_SECRET=$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")"""  # noqa: S105

HEALTH_TIMEOUT = 5.0

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

    commands.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    commands.add_parser(
        "web", help="serve the web chat alone, no Telegram (http://127.0.0.1:8080/chat)"
    )

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
        "--set", type=Path, help="one evaluation file (default: every FAQ_DIR/eval/*.yaml)"
    )
    evaluation.add_argument("--misses", action="store_true", help="list every wrong answer")

    database = commands.add_parser("db", help="the database schema")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    database_commands.add_parser("upgrade", help="bring the database to the current schema")

    commands.add_parser(
        "health",
        help="exit 0 when this instance is healthy (webhook mode: its /healthz; polling mode: "
        "the database answers, at the current schema), 1 otherwise; the container's health "
        "check",
    )
    keys = commands.add_parser("keys", help="the keys that encrypt the data")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_commands.add_parser(
        "rotate", help="re-encrypt everything under the newest key of BOT_DATA_KEY"
    )

    leads = commands.add_parser("leads", help="consultation requests, for the firm's staff")
    leads_commands = leads.add_subparsers(dest="leads_command", required=True, metavar="ACTION")
    export = leads_commands.add_parser("export", help="print every lead, decrypted")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status."""
    arguments = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:
        for detail in error.errors():
            name = ".".join(str(part) for part in detail["loc"]).upper()
            print(f"Setting {name} is not valid: {detail['msg']}", file=sys.stderr)
        return EXIT_USAGE
    if arguments.command == "faq" and arguments.faq_command == "check":
        max_age = arguments.max_age_days or settings.faq_review_max_age_days
        report = check_faq(settings.faq_dir, today=datetime.now(UTC).date(), max_age_days=max_age)
        for problem in report.problems:
            print(problem)
        print(report.summary)
        return EXIT_OK if report.ok else EXIT_PROBLEMS
    if arguments.command == "leads":
        # Reading the leads needs the data key and the database, not the FAQ.
        return asyncio.run(_export_leads(settings, arguments.format))
    if arguments.command == "db":
        configure_logging(log_format=settings.log_format)
        return asyncio.run(_upgrade_database(settings))
    if arguments.command == "health":
        return asyncio.run(_health(settings))
    if arguments.command == "keys":
        configure_logging(log_format=settings.log_format)
        return asyncio.run(_rotate_keys(settings))
    if arguments.command == "run":
        if not settings.telegram_bot_token:
            print(MISSING_CREDENTIALS_HELP, file=sys.stderr)
            return EXIT_USAGE
        if settings.webhook_url and not settings.webhook_secret:
            print(MISSING_WEBHOOK_SECRET, file=sys.stderr)
            return EXIT_USAGE

    try:
        knowledge = load_knowledge(settings.faq_dir)
    except FaqError as error:
        print(error, file=sys.stderr)
        print("The FAQ has errors: run `python -m bot faq check`.", file=sys.stderr)
        return EXIT_PROBLEMS

    if arguments.command in ("run", "chat", "web"):
        level = logging.WARNING if arguments.command == "chat" else logging.INFO
        configure_logging(level, log_format=settings.log_format)
        try:
            startup = prepare(settings, knowledge)
            # The database and the data key are checked before anything starts.
            asyncio.run(_check_database(settings, startup))
        except (DataKeyError, SchemaError) as error:
            print(f"Cannot start: {error}.", file=sys.stderr)
            return EXIT_USAGE
        if arguments.command == "run":
            return _run(settings, startup)
        if arguments.command == "web":
            return _web(settings, startup)
        return asyncio.run(_chat(settings, startup, arguments.lang))

    matcher = Matcher(knowledge)
    if arguments.command == "ask":
        return _ask(knowledge, matcher, arguments.question, arguments.lang, arguments.json)
    paths = [arguments.set] if arguments.set else eval_files(settings.faq_dir)
    questions = [question for path in paths for question in load_eval_set(path)]
    evaluation = evaluate(matcher, questions)
    print("evaluation sets: " + ", ".join(str(path) for path in paths))
    print("\n".join(evaluation.lines(show_misses=arguments.misses)))
    print("\n".join(reading_report(knowledge).lines()))
    return EXIT_OK


async def _check_database(settings: Settings, startup: Startup) -> None:
    store = await open_store(settings, startup.data_key)
    await store.close()


async def _upgrade_database(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        before = await schema_status(engine)
        await upgrade(engine)
        after = await schema_status(engine)
    finally:
        await engine.dispose()
    print(f"database schema: {before.revision or 'empty'} -> {after.revision}")
    return EXIT_OK


async def _health(settings: Settings) -> int:
    if settings.webhook_url:
        listening = settings.webhook_listen
        host = "127.0.0.1" if listening in ("", "0.0.0.0", "::") else listening  # noqa: S104
        url = f"http://{host}:{settings.webhook_port}/healthz"
        try:
            async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT) as client:
                healthy = (await client.get(url)).status_code == 200
        except httpx.HTTPError as error:
            print(f"unhealthy: {url} did not answer ({type(error).__name__})", file=sys.stderr)
            return EXIT_PROBLEMS
    else:
        engine = create_engine(settings.database_url)
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                status = await schema_status(engine)
        except Exception as error:
            print(
                f"unhealthy: the database did not answer ({type(error).__name__})", file=sys.stderr
            )
            return EXIT_PROBLEMS
        finally:
            await engine.dispose()
        # A database `run` would refuse (empty, or behind the migrations) serves no bot.
        healthy = status.current
        if not healthy:
            print(f"unhealthy: {status.explanation}", file=sys.stderr)
    return EXIT_OK if healthy else EXIT_PROBLEMS


async def _rotate_keys(settings: Settings) -> int:
    try:
        store = await Store.open(settings.database_url, Vault(resolve_data_key(settings)))
    except (DataKeyError, SchemaError) as error:
        print(f"Cannot rotate the keys: {error}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        rotated = await store.rotate_keys()
    except DataKeyError as error:
        print(f"Cannot rotate the keys: {error}.", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        await store.close()
    print(
        f"re-encrypted {rotated} values under the newest key; keep the older keys in "
        "BOT_DATA_KEY until the database backups made before now have expired"
    )
    return EXIT_OK


def _run(settings: Settings, startup: Startup) -> int:
    # only this command needs python-telegram-bot
    from bot.channels.telegram import TelegramStartError, run_bot

    channels = [WebChannel(settings)] if settings.web_port is not None else []
    try:
        run_bot(settings, startup, channels=channels)
    except TelegramStartError as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _web(settings: Settings, startup: Startup) -> int:
    try:
        asyncio.run(serve_web(settings, startup))
    except OSError as error:
        print(f"Cannot serve the web chat: {error}.", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


async def _chat(settings: Settings, startup: Startup, language: Language | None) -> int:
    runtime = await open_runtime(settings, startup)
    try:
        await run_console(
            runtime.service, runtime.knowledge, typed_lines(), print, language=language
        )
    finally:
        await runtime.close()
    return EXIT_OK


LEAD_FIELDS = [
    "reference",
    "created_at",
    "updated_at",
    "urgent",
    "language",
    "name",
    "phone",
    "email",
    "preferred_time",
    "voicemail_ok",
    "topic",
    "status",
    "owner",
    "unreached",
    "history",
]


async def _export_leads(settings: Settings, output_format: str) -> int:
    try:
        store = await Store.open(settings.database_url, Vault(resolve_data_key(settings)))
    except (DataKeyError, SchemaError) as error:
        print(f"Cannot read the leads: {error}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        async with store.reading() as session:
            requests = await Desk(session, store.vault).all_requests()
    except DataKeyError as error:
        print(f"Cannot read the leads: {error}.", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        await store.close()
    rows = [_export_row(stored, output_format) for stored in requests]
    if output_format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=LEAD_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return EXIT_OK


def _export_row(stored: StoredLead, output_format: str) -> dict[str, object]:
    """One request as exported: its fields, where it stands, and its history."""
    values = {**asdict(stored.lead), "status": stored.status, "owner": stored.owner}
    values["unreached"] = stored.unreached
    events = [
        {key: _plain(value) for key, value in asdict(event).items()} for event in stored.history
    ]
    if output_format == "json":
        values["history"] = events
    else:
        values["history"] = "\n".join(
            " ".join(str(value) for value in event.values() if value is not None)
            for event in events
        )
    return {name: _plain(values[name]) for name in LEAD_FIELDS}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _ask(
    knowledge: Knowledge,
    matcher: Matcher,
    question: str,
    language: Language | None,
    as_json: bool,
) -> int:
    questions: Sequence[str] | TextIO = sys.stdin if question == "-" else [question]
    dialogue = Dialogue(knowledge, matcher)
    for line in questions:
        text = line.rstrip("\r\n") if question == "-" else line
        if as_json:
            shape = ask_json(dialogue, matcher, text, language)
            print(json.dumps(shape, ensure_ascii=False), flush=True)
        else:
            print(ask_text(dialogue, text, language), flush=True)
    return EXIT_OK


def ask_json(
    dialogue: Dialogue, matcher: Matcher, question: str, language: Language | None
) -> dict[str, object]:
    """Return the documented JSON object for one question: how it was matched, and as `answer`
    the first reply a new chat shows for it (the crisis reply, the consent request, the answer
    with its source and disclaimer, the suggestions' header, the fallback), from the same turn
    the chat runs."""
    shape = matcher.match(question, language).to_json()
    replies = first_turn(dialogue, question, language).replies
    shape["answer"] = replies[0].text if replies else None
    return shape


def first_turn(dialogue: Dialogue, question: str, language: Language | None) -> Turn:
    """The turn a new chat runs for `question`, as `chat` and Telegram run it."""
    return dialogue.handle(
        SessionState(), TextMessage(question), now=datetime.now(UTC), language_hint=language
    )


def ask_text(dialogue: Dialogue, question: str, language: Language | None) -> str:
    """Return what a person would read in the chat, buttons as a numbered list."""
    turn = first_turn(dialogue, question, language)
    return "\n\n".join(format_reply(reply) for reply in turn.replies)


def run() -> None:
    """Console-script entry point: exit with the command's status."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `faq eval | head`: the reader has what it wanted. Python would print a traceback
        # on flushing standard output at exit; point it at /dev/null instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = EXIT_PROBLEMS
    sys.exit(status)
