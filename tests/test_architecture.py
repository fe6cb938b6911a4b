"""The pure core never imports Telegram; only the Telegram channel package may."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

CHANNEL_PACKAGE = "telegram_channel"


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
        if CHANNEL_PACKAGE not in path.parts and "telegram" in _imported_modules(path)
    ]
    assert offenders == []
