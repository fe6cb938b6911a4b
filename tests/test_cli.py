"""The commands, run as a person or a script would: real processes, real stdin/stdout."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import ask_json
from bot.dialogue import QUESTION_PREFIX, Dialogue, SessionState, TextMessage
from bot.faq.knowledge import MAX_ANSWER_READ, Knowledge
from bot.matching.evaluation import load_eval_set
from bot.matching.matcher import Matcher
from bot.storage.migrations import downgrade, upgrade
from bot.storage.sessions import create_engine
from tests.conftest import ASK_JSON_KEYS, FAQ_DIR, PROJECT_ROOT


@pytest.fixture(autouse=True)
def _database_in_tmp(tmp_path: Path) -> None:
    """Every command here writes its database (and key file) in a temporary folder."""
    os.environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    os.environ.pop("TELEGRAM_BOT_TOKEN", None)
    os.environ.pop("BOT_DATA_KEY", None)


def _run(*args: str, stdin: str = "", faq_dir: Path = FAQ_DIR) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FAQ_DIR": str(faq_dir), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=PROJECT_ROOT,
        env=environment,
        timeout=60,
        check=False,
    )


def test_ask_json_batch_answers_each_line_in_order() -> None:
    questions = ["sb54?", "Is Chicago a sanctuary city?", "", "quiero una cita", "ice"]
    done = _run("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["question"] for row in rows] == questions
    assert all(list(row) == ASK_JSON_KEYS for row in rows)
    sb54, chicago, empty, booking, ice = rows
    assert (sb54["outcome"], sb54["entry_id"], sb54["intent"]) == (
        "answer",
        "california-sb54",
        None,
    )
    assert "2017" in sb54["answer"]
    assert chicago["outcome"] == "fallback"
    assert chicago["answer"].startswith("Sorry, I don't have an answer to that.")
    assert empty["outcome"] == "fallback"
    assert (booking["language"], booking["intent"]) == ("es", "book")
    assert booking["answer"].startswith("Para que alguien de la oficina de abogados")
    assert ice["outcome"] == "suggest"
    assert {"entry_id", "question", "score"} == set(ice["suggestions"][0])


def test_ask_one_question_in_text() -> None:
    done = _run("ask", "¿La policía de LA ayuda a ICE?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("El artículo dice que la nueva ley prohíbe")
    assert "Fuente: el artículo de noviembre de 2024 de la oficina de abogados" in done.stdout
    assert "no asesoría legal" in done.stdout
    assert "revisada" not in done.stdout  # the review date is for the firm


def test_ask_json_never_answers_a_personal_case_and_flags_a_crisis() -> None:
    questions = ["can I be deported if I have no papers?", "ICE is at my door right now"]
    done = _run("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    personal, crisis = (json.loads(line) for line in done.stdout.splitlines())
    assert personal["outcome"] in ("suggest", "fallback")
    assert personal["urgent"] is False
    assert personal["answer"].startswith("I can't say what will happen in your own case")
    assert (crisis["urgent"], crisis["outcome"]) == (True, "fallback")
    assert "+1 (703) 534-5588" in crisis["answer"].split("\n")[0]


def test_ask_json_reports_the_consent_form_a_chat_shows_for_a_request_for_a_person() -> None:
    """ "can i talk to a real person" opens the booking in a chat: `ask` reports that, not the
    booking entry's text."""
    done = _run("ask", "--json", "can i talk to a real person")
    row = json.loads(done.stdout)
    assert row["intent"] == "book"
    assert row["answer"].startswith("So that someone from the firm can contact you")
    assert "call +1 (703)" not in row["answer"]


@pytest.mark.parametrize("name", ["questions.yaml", "fresh-chat.yaml"])
def test_ask_json_reports_what_the_dialogue_shows_first_for_every_evaluation_question(
    knowledge: Knowledge, matcher: Matcher, name: str
) -> None:
    """Each evaluation question through `ask --json` and through a new chat's dialogue: the
    line's `answer` is the chat's first reply, and `urgent`, `intent` and `outcome` say which
    reply that is."""
    dialogue = Dialogue(knowledge, matcher)
    for question in load_eval_set(FAQ_DIR / "eval" / name):
        shape = ask_json(dialogue, matcher, question.q, None)
        assert list(shape) == ASK_JSON_KEYS
        turn = dialogue.handle(
            SessionState(), TextMessage(question.q), now=datetime.now(UTC), language_hint=None
        )
        texts = [reply.text for reply in turn.replies]
        language = shape["language"]
        assert language in ("en", "es")
        text = functools.partial(knowledge.text, language)
        answer = shape["answer"]
        assert isinstance(answer, str), question.q
        assert answer == texts[0], question.q
        if answer == text("medical_emergency"):
            continue  # 911 first, whatever else was asked
        if shape["urgent"]:
            assert answer == text("urgent"), question.q
        elif shape["intent"] == "book":
            consent = text("consent_request", retention_days="90")
            entry_id = shape["entry_id"]
            if isinstance(entry_id, str) and not knowledge.entries[entry_id].intent:
                # Asking the way to a booking: the firm's ways in, then the consent request.
                assert answer.startswith(knowledge.answer(entry_id, language)), question.q
                assert texts[1] == consent, question.q
            else:
                assert answer == consent, question.q
        elif shape["outcome"] == "answer":
            entry_id = shape["entry_id"]
            assert isinstance(entry_id, str)
            assert answer.startswith(knowledge.answer(entry_id, language)), question.q
            assert answer.endswith(knowledge.source_label(entry_id, language)), question.q
            assert len(answer) <= MAX_ANSWER_READ, question.q
        elif shape["outcome"] == "suggest":
            shown = {button.data for button in turn.replies[0].buttons}
            suggested = shape["suggestions"]
            assert isinstance(suggested, list)
            assert {QUESTION_PREFIX + str(s["entry_id"]) for s in suggested} <= shown, question.q


def test_ask_language_hint() -> None:
    done = _run("ask", "sb54", "--lang", "es", "--json")
    assert json.loads(done.stdout)["language"] == "es"


def test_faq_check_clean_and_broken(faq_copy: Path) -> None:
    unconfirmed = _run("faq", "check", faq_dir=faq_copy)
    assert unconfirmed.returncode == 0, unconfirmed.stdout
    assert "firm.yaml:1: warning: the 'sharing' sentence" in unconfirmed.stdout
    assert "firm.yaml:1: warning: the firm's 'hours'" in unconfirmed.stdout
    assert "firm.yaml:1: warning: the firm's 'name'" in unconfirmed.stdout
    firm = faq_copy / "firm.yaml"
    firm.write_text(
        firm.read_text(encoding="utf-8")
        .replace("sharing_confirmed: false", "sharing_confirmed: true")
        .replace("hours_confirmed: false", "hours_confirmed: true")
        .replace("name_confirmed: false", "name_confirmed: true")
    )
    clean = _run("faq", "check", faq_dir=faq_copy)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.strip().endswith(": OK")

    entry = faq_copy / "entries" / "news-source.yaml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("id: news-source", "id: Bad Id"))
    broken = _run("faq", "check", faq_dir=faq_copy)
    assert broken.returncode == 1
    assert "faq/entries/news-source.yaml:1:" in broken.stdout
    assert "'id'" in broken.stdout


def test_other_commands_refuse_a_broken_faq(faq_copy: Path) -> None:
    (faq_copy / "firm.yaml").unlink()
    done = _run("ask", "sb54", faq_dir=faq_copy)
    assert done.returncode == 1
    assert "faq check" in done.stderr


def test_chat_holds_a_conversation_until_end_of_input() -> None:
    done = _run("chat", stdin="hola\nque es la sb54\n1\n")
    assert done.returncode == 0, done.stderr
    assert "¡Hola!" in done.stdout
    assert 'California es un "estado santuario" desde 2017' in done.stdout
    assert done.stdout.rstrip().endswith("¡Hasta luego! Cuídese.")


def test_chat_goes_on_in_spanish_after_forget() -> None:
    """After /forget nothing is stored, yet the next replies keep the conversation's language."""
    done = _run("chat", stdin="¿la policía de Los Ángeles ayuda a ICE?\n/forget\n1\n/mydata\n")
    assert done.returncode == 0, done.stderr
    after = done.stdout.split("Listo. Borré")[1]
    assert "No hay nada guardado sobre usted." in after
    assert "Nothing is stored" not in after
    assert done.stdout.rstrip().endswith("¡Hasta luego! Cuídese.")


def test_faq_eval_reports_rates_and_latency() -> None:
    done = _run("faq", "eval")
    assert done.returncode == 0, done.stderr
    assert "answered with the right entry" in done.stdout
    for category in ("personal-case", "near-miss", "crisis", "crisis-lookalike", "reversal"):
        assert category in done.stdout
    assert "false alarms" in done.stdout
    assert "p99" in done.stdout


def test_faq_eval_read_only_in_part_ends_without_a_traceback() -> None:
    """`python -m bot faq eval | head -3`: the reader closes the pipe after a few lines."""
    environment = {**os.environ, "FAQ_DIR": str(FAQ_DIR), "PYTHONIOENCODING": "utf-8"}
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "faq", "eval"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
        env=environment,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read().decode()
        process.wait(timeout=60)
    assert first.startswith(b"evaluation sets: ")
    assert "Traceback" not in errors, errors


def test_run_without_token_explains_how_to_get_one() -> None:
    done = _run("run")
    assert done.returncode == 2
    assert "@BotFather" in done.stderr
    assert "python -m bot chat" in done.stderr


def test_run_with_postgresql_needs_a_data_key() -> None:
    os.environ["TELEGRAM_BOT_TOKEN"] = "123:abc"
    os.environ["DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    done = _run("run")
    assert done.returncode == 2
    assert "BOT_DATA_KEY is required" in done.stderr


def test_chat_books_and_leads_export_decrypts(tmp_path: Path) -> None:
    script = "/book\n1\n(213) 555-0147\nRosa Export\n1\n1\n"
    chat = _run("chat", "--lang", "en", stdin=script)
    assert chat.returncode == 0, chat.stderr
    assert "Your request C-" in chat.stdout
    assert (tmp_path / "cli.key").stat().st_mode & 0o777 == 0o600
    exported = _run("leads", "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    (lead,) = json.loads(exported.stdout)
    assert (lead["name"], lead["phone"], lead["preferred_time"]) == (
        "Rosa Export",
        "+12135550147",
        "any",
    )
    as_csv = _run("leads", "export")
    assert as_csv.stdout.splitlines()[0].startswith("reference,created_at")
    assert "Rosa Export" in as_csv.stdout


def test_an_invalid_setting_is_explained_without_a_traceback() -> None:
    os.environ["BOT_ADMIN_CHAT_IDS"] = "staff-group"
    done = _run("faq", "check")
    assert done.returncode == 2
    assert "BOT_ADMIN_CHAT_IDS" in done.stderr
    assert "Traceback" not in done.stderr


def test_health_in_polling_mode_asks_the_database() -> None:
    os.environ.pop("WEBHOOK_URL", None)
    assert _run("db", "upgrade").returncode == 0
    assert _run("health").returncode == 0
    os.environ["DATABASE_URL"] = "postgresql+asyncpg://nobody@127.0.0.1:9/none"
    refused = _run("health")
    assert refused.returncode == 1
    assert "the database did not answer" in refused.stderr


def _downgrade_to(revision: str) -> None:
    engine = create_engine(os.environ["DATABASE_URL"])

    async def downgraded() -> None:
        try:
            await upgrade(engine)
            await downgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(downgraded())


@pytest.mark.parametrize("revision", [None, "0002"])
def test_issue_f_health_is_unhealthy_on_a_database_run_refuses(revision: str | None) -> None:
    os.environ.pop("WEBHOOK_URL", None)
    os.environ["TELEGRAM_BOT_TOKEN"] = "123:abc"
    # PostgreSQL's refusal, on SQLite: `run` would create an empty SQLite database's tables.
    if revision is not None:
        _downgrade_to(revision)
        refused_by_run = _run("run")
        assert refused_by_run.returncode == 2
        assert "Cannot start" in refused_by_run.stderr
    health = _run("health")
    assert health.returncode == 1
    assert "Traceback" not in health.stderr
    (reason,) = health.stderr.splitlines()
    assert reason.startswith("unhealthy: ")
    assert "db upgrade" in reason
