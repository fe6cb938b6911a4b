"""Match latency, index build time and memory, on the real FAQ and on a synthetic large one.

Run: `python benchmarks/match.py` (from the project root, after installing the project).
It pins itself to one CPU core where the system allows, and prints one line per figure,
ending with the slowest of 20 runs of scrubbing and matching on worst-case inputs of
Telegram's maximum length.
"""

from __future__ import annotations

import gc
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from bot.faq.knowledge import Entry, EntryText, Knowledge
from bot.faq.loader import load_knowledge
from bot.matching.evaluation import eval_files, load_eval_set, percentile
from bot.matching.matcher import Matcher
from bot.privacy import scrub_contacts

ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = ROOT / "faq"
SYNTHETIC_ENTRIES = 500
SYNTHETIC_PHRASINGS = 10
ROUNDS = 5


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _timed_build(knowledge: Knowledge) -> tuple[Matcher, float]:
    gc.collect()
    started = time.perf_counter()
    matcher = Matcher(knowledge)
    return matcher, (time.perf_counter() - started) * 1000


def _latencies_ms(match: Callable[[str], object], questions: Sequence[str]) -> list[float]:
    for question in questions[:50]:
        match(question)  # warm caches (stemmer) the way a running bot has them
    samples = []
    for _ in range(ROUNDS):
        for question in questions:
            started = time.perf_counter()
            match(question)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _report(name: str, build_ms: float, size: int, samples: Sequence[float]) -> None:
    print(
        f"{name}: {size} phrasings, index build {build_ms:.1f} ms, "
        f"match p50 {statistics.median(samples):.3f} ms, p99 {percentile(samples, 99):.3f} ms "
        f"({len(samples)} matches)"
    )


def _synthetic_knowledge(real: Knowledge, rng: random.Random) -> tuple[Knowledge, list[str]]:
    syllables = ["ka", "lo", "mi", "tes", "ran", "do", "pel", "su", "vi", "nor", "ta", "gu"]
    vocabulary = sorted(
        {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(6000)}
    )

    def sentence() -> str:
        return " ".join(rng.choices(vocabulary, k=rng.randint(4, 9)))

    entries: dict[str, Entry] = {}
    queries: list[str] = []
    template = next(iter(real.entries.values()))
    for number in range(SYNTHETIC_ENTRIES):
        texts = {}
        for language in ("en", "es"):
            phrasings = [sentence() for _ in range(SYNTHETIC_PHRASINGS)]
            texts[language] = EntryText(
                question=sentence(), phrasings=phrasings, answer="Synthetic answer text."
            )
            words = rng.choice(phrasings).split()
            words.pop(rng.randrange(len(words)))
            queries.append(" ".join(words))
        entry = template.model_copy(
            update={"id": f"synthetic-{number}", "related": [], "reviewed": date(2026, 1, 1)}
            | texts
        )
        entries[entry.id] = entry
    queries += [sentence() for _ in range(200)]  # out of scope: words in no phrasing order
    return replace(real, entries=entries, entry_paths={}), queries


# Inputs of Telegram's maximum length that are hardest for regular expressions and matching.
WORST_CASES = {
    "letters without a space": "a" * 4096,
    "address characters and @": "a.b@" * 1024,
    "@ and dots": "@." * 2048,
    "digits and dashes": "1-" * 2048,
    "a digit run": "7" * 4096,
    "emoji": "🙂" * 4096,
    "HTML and Markdown": "<b>*_`[x](y)</b>" * 256,
    "words": "can ICE come to my house " * 164,
}


def _worst_cases() -> None:
    matcher = Matcher(load_knowledge(FAQ_DIR))
    for name, text in WORST_CASES.items():
        for label, work in (("scrub", scrub_contacts), ("match", matcher.match)):
            work(text)
            samples = []
            for _ in range(20):
                started = time.perf_counter()
                work(text)
                samples.append((time.perf_counter() - started) * 1000)
            print(f"{label} 4096 characters of {name}: max {max(samples):.2f} ms")


def _ask_peak_memory_mb() -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Can the LAPD help ICE?", "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak_kb, before) / 1024


def main() -> None:
    """Print every figure."""
    _pin_to_one_core()
    rng = random.Random(20241119)
    real = load_knowledge(FAQ_DIR)
    matcher, build_ms = _timed_build(real)
    questions = [question.q for path in eval_files(FAQ_DIR) for question in load_eval_set(path)]
    _report("real FAQ", build_ms, matcher.size, _latencies_ms(matcher.match, questions))

    synthetic, queries = _synthetic_knowledge(real, rng)
    tracemalloc.start()
    big, big_build_ms = _timed_build(synthetic)
    _, index_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    _report(
        f"synthetic FAQ ({SYNTHETIC_ENTRIES} entries x {SYNTHETIC_PHRASINGS} phrasings x 2)",
        big_build_ms,
        big.size,
        _latencies_ms(big.match, queries),
    )
    print(f"synthetic index build peak Python memory: {index_peak / 1024 / 1024:.1f} MB")
    print(f"peak memory (max RSS) of `python -m bot ask`: {_ask_peak_memory_mb():.1f} MB")
    _worst_cases()


if __name__ == "__main__":
    main()
