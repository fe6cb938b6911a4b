"""The shape of the tree: only the Telegram channel imports Telegram, the core imports no channel
and no web server, and no module or package imports itself back."""

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


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of bot/ with the modules of bot/ it imports, at any depth of its code
    (imports inside functions and under TYPE_CHECKING included: a cycle there is a cycle)."""
    modules = {_module_name(path): path for path in (PROJECT_ROOT / "bot").rglob("*.py")}

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                imported.update(known(f"{node.module}.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(known(a.name) for a in node.names if a.name.startswith("bot."))
        graph[name] = imported - {name}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` as the path that closes it, or [] when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for following in sorted(graph.get(node, ())):
            if found := visit(following):
                return found
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        if found := visit(start):
            return found
    return []


def test_no_module_imports_itself_back() -> None:
    assert _a_cycle(_import_graph()) == []


def _part(module: str) -> str:
    """The part of the tree a module belongs to: its package under bot/, or the module itself."""
    return module.split(".")[1] if module.count(".") else module


def test_the_packages_depend_on_each_other_one_way() -> None:
    parts: dict[str, set[str]] = {}
    for module, imported in _import_graph().items():
        parts.setdefault(_part(module), set()).update(
            _part(name) for name in imported if _part(name) != _part(module)
        )
    assert _a_cycle(parts) == []


def test_a_cycle_is_found() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set()}) == []
