"""Co-occurrence: how often other users logged two items together, in the same second or a few events apart.

Why: on MovieLens 44 % of the test events were logged in the same second as the event before (a user rating a page
of films at once), and no next-item model read the page: fused with either model's scores, a prior made of these
counts lifts HR@10 / NDCG@10 by 6-7 % / 8-9 % (BENCHMARKS.md, "ML-100K, session 53"), and it keeps that lift within
the retrieval's top 100, i.e. as a term of the served ranking. A log without timestamps (Amazon's reviews, a click
log exported in order) has no seconds, but items logged a few events apart also go together (BENCHMARKS.md,
"Amazon Scientific, session 55"). The served order (evaluate.ServedWindows; RankingScores on the Java side) adds

    co_occurrence_weight * log(1 + sum over the request's context items c of count(c, candidate))

where the context is the request's latest second (span 0: the items of its latest history event's second) or its
last `span` history events, and the counts are kept for each item's `neighbours` most frequent partners (the
bundle's co_occurrence.bin and the manifest's co_occurrence.span, docs/bundle-format.md).
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
    """Each item's most frequent partners, compressed rows: row i (model item index, 0 = padding, empty) is
    neighbours[offsets[i]:offsets[i + 1]], ascending, with counts[...] how often one user logged both: in one second
    (span 0: the number of (user, second) pairs), or at most `span` events apart (the number of such pairs of
    events)."""
    offsets: np.ndarray     # int64 [I + 2]
    neighbours: np.ndarray  # int32 [nnz]
    counts: np.ndarray      # float32 [nnz]
    span: int = 0           # 0: pairs of one second, the request's latest second read; K: K events apart, its last K

    @property
    def num_items(self) -> int:
        return len(self.offsets) - 2

    @staticmethod
    def count(seqs: Sequence[UserSequence], last_position: dict[int, int], num_items: int, neighbours: int,
              span: int = 0) -> "CoOccurrence":
        """Counts over each user u's events up to last_position[u] (the training events: a held-out event never
        counts), in one second (span 0) or at most `span` events apart, each item's `neighbours` most frequent
        partners kept (ties: the lower index)."""
        width = num_items + 1
        codes = [_span_pairs(seqs[u].items[:last + 1], width, span) if span
                 else _second_pairs(seqs[u].items[:last + 1], seqs[u].timestamps[:last + 1], width)
                 for u, last in last_position.items()]
        codes = [c for c in codes if len(c)]
        if not codes:
            return CoOccurrence(np.zeros(width + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), span)
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
        return CoOccurrence(offsets, col.astype(np.int32), count.astype(np.float32), span)

    def request_contexts(self, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                         max_history: int) -> list[np.ndarray]:
        """context_items of each example's history as the model reads it (its latest max_history events)."""
        out = []
        for u, t in examples:
            lo = max(0, t - max_history)
            out.append(context_items(seqs[u].items[lo:t], seqs[u].timestamps[lo:t], self.span))
        return out

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
    def read(path: str | Path, span: int = 0) -> "CoOccurrence":
        """The file write() wrote; the span, which it does not hold, from the manifest."""
        raw = Path(path).read_bytes()
        rows, nnz = np.frombuffer(raw, "<i4", 2)
        offsets = np.frombuffer(raw, "<i4", rows + 1, 8).astype(np.int64)
        neighbours = np.frombuffer(raw, "<i4", nnz, 8 + 4 * (rows + 1)).astype(np.int32)
        counts = np.frombuffer(raw, "<f4", nnz, 8 + 4 * (rows + 1 + nnz)).astype(np.float32)
        return CoOccurrence(offsets, neighbours, counts, span)


def context_items(items: np.ndarray, timestamps: np.ndarray, span: int) -> np.ndarray:
    """The items of a history (in time order) that the prior reads: those of its latest second (span 0) or of its
    last `span` events; distinct, ascending, padding and items added after training (index 0) left out."""
    if span:
        last = np.asarray(items)[-span:]
        return np.unique(last[last > 0])
    return latest_second(items, timestamps)


def latest_second(items: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """The items of a history's latest second (a history in time order, padding and unknown items as index 0 left
    out): what the co-occurrence prior counted by seconds reads of a request."""
    if len(timestamps) == 0:  # an empty history (its one padding slot has no time)
        return np.zeros(0, np.int64)
    latest = items[timestamps == timestamps[-1]]
    return np.unique(latest[latest > 0])


def _second_pairs(items: np.ndarray, timestamps: np.ndarray, width: int) -> np.ndarray:
    """Pair codes (a * width + b, both orders) of the distinct items of each second, bulk seconds left out."""
    codes = []
    starts = np.flatnonzero(np.r_[True, timestamps[1:] != timestamps[:-1]])  # in time order: a second is a run
    for a, b in zip(starts, np.r_[starts[1:], len(timestamps)]):
        second = np.unique(items[a:b])
        if 1 < len(second) <= MAX_SECOND_EVENTS:
            codes.append((second[:, None] * width + second[None, :])[~np.eye(len(second), dtype=bool)])
    return np.concatenate(codes) if codes else np.zeros(0, np.int64)


def _span_pairs(items: np.ndarray, width: int, span: int) -> np.ndarray:
    """Pair codes (both orders) of every two events at most `span` positions apart, an item with itself left out."""
    items = np.asarray(items, np.int64)
    codes = []
    for shift in range(1, min(span, len(items) - 1) + 1):
        a, b = items[:-shift], items[shift:]
        differ = (a != b) & (a > 0) & (b > 0)
        a, b = a[differ], b[differ]
        codes += [a * width + b, b * width + a]
    return np.concatenate(codes) if codes else np.zeros(0, np.int64)
