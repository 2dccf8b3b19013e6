"""The source article, as fingerprints only: tests check our texts are our own words.

The article itself is not ours to copy into the repository, and a test must
not read outside it (a fresh clone would always skip). So the repository keeps
a hash of every run of eight consecutive words of the article
(`tests/data/article-runs.sha256`, made by `python -m tests.article FILE`), and
a text is checked by hashing its own runs the same way.
"""

from __future__ import annotations

import hashlib
import re
import sys
from functools import cache
from pathlib import Path

RUN = 8
FINGERPRINTS = Path(__file__).parent / "data" / "article-runs.sha256"


def word_runs(text: str, size: int = RUN) -> set[str]:
    """Every run of `size` consecutive words (lowercased, punctuation ignored), hashed."""
    words = re.findall(r"\w+", text.lower())
    return {_fingerprint(words[i:i + size]) for i in range(len(words) - size + 1)}


@cache
def article_runs() -> frozenset[str]:
    return frozenset(FINGERPRINTS.read_text(encoding="ascii").split())


def _fingerprint(words: list[str]) -> str:
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:16]


if __name__ == "__main__":  # pragma: no cover - run once when the article changes
    runs = word_runs(Path(sys.argv[1]).read_text(encoding="utf-8"))
    FINGERPRINTS.write_text("\n".join(sorted(runs)) + "\n", encoding="ascii")
    print(f"wrote {len(runs)} fingerprints to {FINGERPRINTS}")
