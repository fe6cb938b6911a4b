"""The pure core never imports Telegram; only the Telegram channel (bot/channels/telegram) may."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

# The Telegram channel: bot/channels/telegram/.
CHANNEL_PARTS = ("channels", "telegram")
CHANNEL_MODULE = "bot.channels.telegram"


def _in_telegram_channel(path: Path) -> bool:
    parts = path.relative_to(PROJECT_ROOT / "bot").parts
    return parts[: len(CHANNEL_PARTS)] == CHANNEL_PARTS


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_telegram_channel_imports_telegram() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "bot").rglob("*.py")
        if not _in_telegram_channel(path) and "telegram" in _imported_modules(path)
    ]
    assert offenders == []


def _imported_full(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


# The shell: the host and the channels at its edge. Everything else is the core.
SHELL = ("host", "channels")
WEB_SERVER_LIBRARIES = {"starlette", "uvicorn"}
# The host's command line composes the channels; nothing in the core knows them.
COMPOSERS = {"cli.py"}


def _core_modules() -> list[Path]:
    bot = PROJECT_ROOT / "bot"
    return [
        path
        for path in bot.rglob("*.py")
        if not set(SHELL) & set(path.relative_to(bot).parts) and path.name not in COMPOSERS
    ]


def test_the_core_imports_no_web_server_and_no_channel() -> None:
    offenders = []
    for path in _core_modules():
        imported = _imported_full(path)
        roots = {name.split(".")[0] for name in imported}
        shell = {
            name for name in imported if name.split(".")[:2] in (["bot", part] for part in SHELL)
        }
        if roots & WEB_SERVER_LIBRARIES or shell:
            offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


def test_the_host_and_the_web_chat_import_no_telegram() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("host", "channels")
        for path in (PROJECT_ROOT / "bot" / folder).rglob("*.py")
        if not _in_telegram_channel(path)
        and (
            {"telegram"} & _imported_modules(path)
            or any(name.startswith(CHANNEL_MODULE) for name in _imported_full(path))
        )
    ]
    assert offenders == []


def test_the_web_chat_s_storage_imports_no_web_server() -> None:
    transcript = PROJECT_ROOT / "bot" / "channels" / "web" / "transcript.py"
    assert not _imported_modules(transcript) & WEB_SERVER_LIBRARIES
