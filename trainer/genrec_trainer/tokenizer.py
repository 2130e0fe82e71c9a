"""lowercase_alnum tokenizer (docs/bundle-format.md, "Request encoding" step 5).

Java mirrors this with toLowerCase(Locale.ROOT) and the same regex; keep the two identical.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def tokenize(text: str | None) -> list[str]:
    if not text:
        return []
    return _TOKEN_RE.findall(text.lower())


class Vocab:
    def __init__(self, tokens: list[str]):
        if tokens[:2] != [PAD, UNK]:
            raise ValueError("vocab must start with [PAD], [UNK]")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocab has duplicate tokens")

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, texts: Iterable[str | None], min_count: int = 1) -> "Vocab":
        counts = Counter(t for text in texts for t in tokenize(text))
        # Frequency then alphabetical: deterministic regardless of input order.
        ordered = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK] + ordered)

    def ids(self, text: str | None) -> list[int]:
        return [self.index.get(t, UNK_ID) for t in tokenize(text)]

    def encode(self, text: str | None, max_tokens: int) -> list[int]:
        """First max_tokens token ids, right-padded with PAD_ID to exactly max_tokens."""
        ids = self.ids(text)[:max_tokens]
        return ids + [PAD_ID] * (max_tokens - len(ids))

    def save(self, path: str | Path) -> None:
        Path(path).write_text("".join(t + "\n" for t in self.tokens), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        return cls(Path(path).read_text(encoding="utf-8").splitlines())
