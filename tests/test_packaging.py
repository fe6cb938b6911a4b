"""The Dockerfile, docker-compose.yml and the wheel agree with the package and its settings.

No Docker engine runs here, so the image is checked by reading it (hadolint lints it in
`.ci/run`) and by running the wheel it installs the way the image lays it out.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.settings import DEFAULT_DATA_DIR, Settings
from tests.conftest import PROJECT_ROOT

# Environment variables the image may set that are not the bot's settings.
RUNTIME_VARIABLES = {
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = (PROJECT_ROOT / "Dockerfile").read_text("utf-8")
    logical = re.sub(r"\\\n", " ", text)
    found = []
    for line in logical.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def _one(instruction: str) -> str:
    (arguments,) = [rest for name, rest in _instructions() if name == instruction]
    return arguments


def _environment() -> dict[str, str]:
    values: dict[str, str] = {}
    for name, arguments in _instructions():
        if name == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def _parses_as(command: list[str]) -> str:
    assert command[:3] == ["python", "-m", "bot"], command
    return str(build_parser().parse_args(command[3:]).command)


def test_the_image_runs_the_bot_and_checks_its_health_with_our_commands() -> None:
    assert _parses_as(json.loads(_one("CMD"))) == "run"
    options, _, command = _one("HEALTHCHECK").partition("CMD ")
    assert "--timeout" in options
    assert _parses_as(json.loads(command)) == "health"


def test_the_image_runs_as_the_user_it_creates_not_root() -> None:
    user = _one("USER")
    assert re.fullmatch(r"\d+:\d+", user), "a numeric user lets runAsNonRoot check it"
    uid, gid = user.split(":")
    assert uid != "0"
    created = " ".join(rest for name, rest in _instructions() if name == "RUN")
    assert f"--uid {uid}" in created
    assert f"--gid {gid}" in created


def test_the_volume_holds_the_default_database_and_its_key() -> None:
    workdir = PurePosixPath(_one("WORKDIR"))
    (volume,) = json.loads(_one("VOLUME"))
    assert PurePosixPath(volume) == workdir / DEFAULT_DATA_DIR.as_posix()
    default_database = Settings.model_fields["database_url"].default
    assert default_database.endswith(f"///{DEFAULT_DATA_DIR.as_posix()}/bot.sqlite3")
    assert any(
        name == "RUN" and f"chown faqbot:faqbot {volume}" in rest for name, rest in _instructions()
    )


def test_the_faq_is_where_the_settings_look_for_it() -> None:
    copies = [rest.split() for name, rest in _instructions() if name == "COPY"]
    faq_default = Settings.model_fields["faq_dir"].default
    assert ["faq", f"./{faq_default.as_posix()}"] in copies
    for *sources, _target in copies:
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), source


def test_the_port_and_the_environment_are_the_settings() -> None:
    environment = _environment()
    assert set(environment) - RUNTIME_VARIABLES <= _setting_names()
    assert environment["WEBHOOK_LISTEN"] == "0.0.0.0"  # noqa: S104 - reachable from the proxy
    assert _one("EXPOSE") == environment["WEBHOOK_PORT"]
    values = {key.lower(): value for key, value in environment.items() if key in _setting_names()}
    parsed = Settings.model_validate(values)  # valid values, read as the bot reads them
    assert str(parsed.webhook_port) == _one("EXPOSE")


def test_the_base_image_has_a_python_the_package_accepts() -> None:
    base = _one("FROM")
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:-\w+)?", base)
    assert match, base
    required = re.search(r'requires-python = ">=(\d+)\.(\d+)"', _pyproject())
    assert required
    assert tuple(map(int, match.groups())) >= tuple(map(int, required.groups()))


def test_the_build_context_has_what_the_image_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (PROJECT_ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.startswith("!")
    ]
    copied = {
        source for name, rest in _instructions() if name == "COPY" for source in rest.split()[:-1]
    }
    assert copied <= set(allowed)


# --- docker-compose.yml ------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_migrates_first_then_runs_two_webhook_instances_behind_the_proxy() -> None:
    services = _compose()["services"]
    migrate = services["migrate"]
    assert _parses_as(migrate["command"]) == "db"
    assert migrate["command"][3:] == ["db", "upgrade"]
    bots = {name: service for name, service in services.items() if name.startswith("bot-")}
    assert len(bots) >= 2
    caddyfile = _compose()["configs"]["caddyfile"]["content"]
    for name, service in bots.items():
        assert "command" not in service  # the image's: `python -m bot run`
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        environment = service["environment"]
        assert set(environment) <= _setting_names()
        # Long polling cannot run twice on one token: several instances need the webhook.
        path = PurePosixPath(environment["WEBHOOK_URL"].split("}", 1)[1])
        assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert f"handle {path} {{" in caddyfile
        assert f"{name}:{_one('EXPOSE')}" in caddyfile
    # Only the webhook is public; /metrics and /healthz stay on the machine's network.
    assert caddyfile.count("handle ") == 1
    assert "respond 404" in caddyfile


def _pyproject() -> str:
    return (PROJECT_ROOT / "pyproject.toml").read_text("utf-8")


# --- the wheel the image installs --------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), "."],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=300,
    )
    (built,) = folder.glob("faqbot-*.whl")
    return built


def test_the_wheel_holds_every_module_and_migration(wheel: Path) -> None:
    packed = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        path.relative_to(PROJECT_ROOT).as_posix() for path in (PROJECT_ROOT / "bot").rglob("*.py")
    }
    assert modules <= packed
    assert any(name.startswith("bot/storage/migrations/versions/0001") for name in packed)


def test_the_wheel_runs_from_the_images_layout(wheel: Path, tmp_path: Path) -> None:
    """As in the image: the package installed, only faq/ in the working folder, data/ beside."""
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    workdir = tmp_path / "app"
    shutil.copytree(PROJECT_ROOT / "faq", workdir / "faq")
    environment = {
        key: value for key, value in os.environ.items() if key.upper() not in _setting_names()
    }
    environment["PYTHONPATH"] = str(installed)
    (workdir / "data").mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed))
    checked = run("faq", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (workdir / "data" / "bot.sqlite3").exists()
    assert run("health").returncode == 0


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (PROJECT_ROOT / document).read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if name.upper() not in text]
    assert missing == [], f"{document} does not name {missing}"


# --- the versions CI passed with ---------------------------------------------------------------

CONSTRAINTS = "constraints.txt"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / CONSTRAINTS).read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            match = _PIN.fullmatch(line.strip())
            assert match, f"not an exact pin: {line}"
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _uses_constraints(pip_install: str) -> bool:
    words = shlex.split(pip_install)
    return any(
        (word in ("-c", "--constraint") and after == CONSTRAINTS)
        or word == f"--constraint={CONSTRAINTS}"
        for word, after in zip(words, [*words[1:], ""], strict=True)
    )


def test_the_image_runs_the_python_minor_that_ci_tests() -> None:
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:-\w+)?", _one("FROM"))
    assert match
    assert tuple(map(int, match.groups())) == sys.version_info[:2]


def test_the_image_and_ci_install_with_the_same_constraints_file() -> None:
    image_installs = [
        rest for name, rest in _instructions() if name == "RUN" and "pip install" in rest
    ]
    assert image_installs
    assert all(_uses_constraints(install) for install in image_installs)
    copied = {
        source for name, rest in _instructions() if name == "COPY" for source in rest.split()[:-1]
    }
    assert CONSTRAINTS in copied
    ci_installs = [
        line
        for line in (PROJECT_ROOT / ".ci" / "run").read_text("utf-8").splitlines()
        if "pip install" in line and "--upgrade pip" not in line
    ]
    assert ci_installs
    assert all(_uses_constraints(install) for install in ci_installs)


def test_the_constraints_pin_every_dependency_exactly() -> None:
    pins = _pins()
    project = tomllib.loads(_pyproject())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    declared = [
        re.split(r"[\[<>=!;~ ]", requirement, maxsplit=1)[0] for requirement in requirements
    ]
    assert {_canonical(name) for name in declared} - pins.keys() == set()
