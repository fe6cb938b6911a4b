"""Entry point of `python -m bot` and the `faqbot` console script."""

from __future__ import annotations

from bot.cli import run

if __name__ == "__main__":
    run()
