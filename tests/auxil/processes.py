"""`python -m bot run` as a real process, for tests that start, stop or kill one."""

from __future__ import annotations

import asyncio
import sys

from tests.conftest import PROJECT_ROOT


async def start_bot(
    environment: dict[str, str], *, capture: bool = True
) -> asyncio.subprocess.Process:
    """Start `python -m bot run` with `environment`; its output piped, or dropped."""
    output = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=output,
        stderr=output,
    )
