"""Same-second co-occurrence: how often other users logged two items in the same second.

Why: on MovieLens 44 % of the test events were logged in the same second as the event before (a user rating a page
of films at once), and no next-item model read the page: fused with either model's scores, a prior made of these
counts lifts HR@10 / NDCG@10 by 6-7 % / 8-9 % (BENCHMARKS.md, "ML-100K, session 53"), and it keeps that lift within
the retrieval's top 100, i.e. as a term of the served ranking. The served order (evaluate.ServedWindows; RankingScores
on the Java side) adds

    co_occurrence_weight * log(1 + sum over the request's latest-second items c of count(c, candidate))

where the latest second is the second of the request's latest history event, and the counts are kept for each
item's `neighbours` most frequent partners (the bundle's co_occurrence.bin, docs/bundle-format.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .data import UserSequence

# A second with more events than this is a bulk import, not a page a user rated: its pairs grow as the square of
# its size and say nothing about which items go together, so it is left out.
MAX_SECOND_EVENTS = 100


@dataclass(frozen=True)
class CoOccurrence:
    """Each item's most frequent same-second partners, compressed rows: row i (model item index, 0 = padding, empty)
    is neighbours[offsets[i]:offsets[i + 1]], ascending, with counts[...] the number of (user, second) pairs that
    logged both."""
    offsets: np.ndarray     # int64 [I + 2]
    neighbours: np.ndarray  # int32 [nnz]
    counts: np.ndarray      # float32 [nnz]

    @property
    def num_items(self) -> int:
        return len(self.offsets) - 2

    @staticmethod
    def count(seqs: Sequence[UserSequence], last_position: dict[int, int], num_items: int, neighbours: int) -> "CoOccurrence":
        """Counts over each user u's events up to last_position[u] (the training events: a held-out event never
        counts), each item's `neighbours` most frequent partners kept (ties: the lower index)."""
        width = num_items + 1
        codes = []
        for u, last in last_position.items():
            ts, items = seqs[u].timestamps[:last + 1], seqs[u].items[:last + 1]
            starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])     # seqs are in time order: a second is a run
            for a, b in zip(starts, np.r_[starts[1:], len(ts)]):
                second = np.unique(items[a:b])
                if 1 < len(second) <= MAX_SECOND_EVENTS:
                    pairs = (second[:, None] * width + second[None, :])[~np.eye(len(second), dtype=bool)]
                    codes.append(pairs)
        if not codes:
            return CoOccurrence(np.zeros(width + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
        pair, count = np.unique(np.concatenate(codes), return_counts=True)
        row, col = pair // width, pair % width
        # per row: most frequent first, ties by index; keep the first `neighbours`; then ascending by index
        order = np.lexsort((col, -count, row))
        row, col, count = row[order], col[order], count[order]
        rank_in_row = np.arange(len(row)) - np.searchsorted(row, row)
        keep = rank_in_row < neighbours
        row, col, count = row[keep], col[keep], count[keep]
        order = np.lexsort((col, row))
        row, col, count = row[order], col[order], count[order]
        offsets = np.searchsorted(row, np.arange(width + 1)).astype(np.int64)
        return CoOccurrence(offsets, col.astype(np.int32), count.astype(np.float32))

    def summed(self, context: np.ndarray) -> np.ndarray:
        """[I + 1] float64: each item's counts with the context items, summed (0 for items with none)."""
        out = np.zeros(self.num_items + 1, np.float64)
        for c in context:
            lo, hi = self.offsets[c], self.offsets[c + 1]
            np.add.at(out, self.neighbours[lo:hi], self.counts[lo:hi].astype(np.float64))
        return out

    def prior(self, context: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """log(1 + summed counts) of each candidate (model item indices; 0 or an unknown index: 0)."""
        summed = self.summed(context)
        candidates = np.asarray(candidates)
        known = (candidates > 0) & (candidates <= self.num_items)
        return np.where(known, np.log1p(summed[np.where(known, candidates, 0)]), 0.0)

    def write(self, path: str | Path) -> None:
        """co_occurrence.bin, little-endian: int32 rows (I + 1), int32 nnz, the offsets int32 [I + 2], the neighbours
        int32 [nnz], the counts float32 [nnz] (docs/bundle-format.md)."""
        header = np.asarray([self.num_items + 1, len(self.neighbours)], "<i4")
        Path(path).write_bytes(b"".join(a.tobytes() for a in (header, self.offsets.astype("<i4"),
                                                                  self.neighbours.astype("<i4"), self.counts.astype("<f4"))))

    @staticmethod
    def read(path: str | Path) -> "CoOccurrence":
        raw = Path(path).read_bytes()
        rows, nnz = np.frombuffer(raw, "<i4", 2)
        offsets = np.frombuffer(raw, "<i4", rows + 1, 8).astype(np.int64)
        neighbours = np.frombuffer(raw, "<i4", nnz, 8 + 4 * (rows + 1)).astype(np.int32)
        counts = np.frombuffer(raw, "<f4", nnz, 8 + 4 * (rows + 1 + nnz)).astype(np.float32)
        return CoOccurrence(offsets, neighbours, counts)


def latest_second(items: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """The items of a history's latest second (a history in time order, padding and unknown items as index 0 left
    out): what the co-occurrence prior reads of a request."""
    if len(timestamps) == 0:  # an empty history (its one padding slot has no time)
        return np.zeros(0, np.int64)
    latest = items[timestamps == timestamps[-1]]
    return np.unique(latest[latest > 0])


def request_contexts(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]], max_history: int) -> list[np.ndarray]:
    """latest_second of each example's history as the model reads it (its latest max_history events)."""
    out = []
    for u, t in examples:
        lo = max(0, t - max_history)
        out.append(latest_second(seqs[u].items[lo:t], seqs[u].timestamps[lo:t]))
    return out
