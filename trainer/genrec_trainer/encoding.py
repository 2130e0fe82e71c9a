"""Request -> graph input tensors, exactly as docs/bundle-format.md "Request encoding" says.

This is the serving-side encoding the Java RequestEncoder mirrors; golden.json is produced
through it. Training batches (data.py) slice pre-encoded arrays and are tested to agree with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .schema import parse_timestamp
from .tokenizer import Vocab


@dataclass
class EncodedRequest:
    history_items: np.ndarray         # int64 [1, N]
    history_actions: np.ndarray       # int64 [1, N]
    history_age_seconds: np.ndarray   # int64 [1, N]
    history_query_tokens: np.ndarray  # int64 [1, N, Q]
    query_tokens: np.ndarray          # int64 [1, Q]
    dropped_history_items: int
    kept_item_ids: list[str]

    def graph_inputs(self) -> dict[str, np.ndarray]:
        return {"history_items": self.history_items, "history_actions": self.history_actions,
                "history_age_seconds": self.history_age_seconds,
                "history_query_tokens": self.history_query_tokens, "query_tokens": self.query_tokens}


class RequestEncoder:
    def __init__(self, item_index: dict[str, int], actions: Sequence[str], vocab: Vocab,
                 max_history: int, max_query_tokens: int):
        self.item_index = item_index
        self.action_index = {a: i + 1 for i, a in enumerate(actions)}  # 0 = padding
        self.vocab = vocab
        self.max_history = max_history
        self.max_query_tokens = max_query_tokens

    def action_id(self, action: str) -> int:
        try:
            return self.action_index[action]
        except KeyError:
            raise ValueError(f"unknown action {action!r}; known: {sorted(self.action_index)}") from None

    def encode(self, history: Sequence[dict[str, Any]], query: str | None, request_time: int) -> EncodedRequest:
        q = self.max_query_tokens
        request_time = parse_timestamp(request_time)
        # 1. stable sort by time (Python's sort is stable: equal times keep their given order)
        events = sorted(history, key=lambda e: parse_timestamp(e["time"]))
        for e in events:
            self.action_id(e["action"])  # an unknown action is an error, even on a dropped event
        known = [e for e in events if e["item"] in self.item_index]
        dropped = len(events) - len(known)
        kept = known[-self.max_history:] if self.max_history > 0 else []
        n = max(len(kept), 1)  # N = 0 -> one padding event
        items = np.zeros((1, n), np.int64)
        actions = np.zeros((1, n), np.int64)
        ages = np.zeros((1, n), np.int64)
        hq = np.zeros((1, n, q), np.int64)
        for j, e in enumerate(kept):
            items[0, j] = self.item_index[e["item"]]
            actions[0, j] = self.action_id(e["action"])
            # 4. int64 difference, clamped: events "in the future" count as age 0
            ages[0, j] = max(0, request_time - parse_timestamp(e["time"]))
            hq[0, j] = self.vocab.encode(e.get("query"), q)
        return EncodedRequest(items, actions, ages, hq,
                              np.asarray([self.vocab.encode(query, q)], np.int64),
                              dropped, [e["item"] for e in kept])
