"""Request -> graph input tensors, exactly as docs/bundle-format.md "Request encoding" says.

This is the serving-side encoding the Java RequestEncoder mirrors; golden.json is produced
through it. Training batches (data.py) slice pre-encoded arrays and are tested to agree with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .cooccurrence import context_items
from .data import item_tokens
from .model import CandidateCache
from .rotary_rows import RotarySpec, rotary_inputs
from .schema import parse_timestamp
from .tokenizer import PAD_ID, Vocab


@dataclass
class EncodedRequest:
    history_items: np.ndarray         # int64 [1, N]
    history_actions: np.ndarray       # int64 [1, N]
    history_age_seconds: np.ndarray   # int64 [1, N]
    history_query_tokens: np.ndarray  # int64 [1, N, Q]
    query_tokens: np.ndarray          # int64 [1, Q]
    dropped_history_items: int
    kept_item_ids: list[str]
    # int64 [1, N, MT] (bundles that read new history items: export_bundle's new_history_items): the item tokens of
    # kept events whose item was added after training (their history_items entry is 0); [1, N, 1] of padding when no
    # kept event is one (the same to the graph, and its text lookup then costs nothing). None for other bundles, whose
    # graph has no such input.
    history_item_tokens: np.ndarray | None = None
    # int64 [1] (bundles of models that read absolute time: --absolute-time): the request's time, seconds since the epoch.
    # None for other bundles, whose graph has no such input.
    request_time: np.ndarray | None = None
    # int64 [K]: what the served order's co-occurrence prior reads (cooccurrence.context_items): the trained items of
    # the kept events in the latest kept event's second, or of the last `co_occurrence_span` kept events
    co_occurrence_context: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def graph_inputs(self) -> dict[str, np.ndarray]:
        inputs = {"history_items": self.history_items, "history_actions": self.history_actions,
                  "history_age_seconds": self.history_age_seconds,
                  "history_query_tokens": self.history_query_tokens, "query_tokens": self.query_tokens}
        if self.history_item_tokens is not None:
            inputs["history_item_tokens"] = self.history_item_tokens
        if self.request_time is not None:
            inputs["request_time"] = self.request_time
        return inputs

    def onnx_inputs(self, rotary: RotarySpec) -> dict[str, np.ndarray]:
        """The exported encode graph's inputs: graph_inputs() (the model's), then those the runtime makes of them: the
        rotary rows (rotary_rows.py) and the slot masks (slot_inputs; a real event is one with an action)."""
        return self.graph_inputs() | runtime_inputs(rotary, self.history_actions, self.history_age_seconds)


KEY_PADDING, SLOT_KEEP, SLOT_COLUMNS = "key_padding", "slot_keep", "slot_columns"
SLOT_INPUTS = [KEY_PADDING, SLOT_KEEP, SLOT_COLUMNS]


def slot_inputs(valid: np.ndarray) -> dict[str, np.ndarray]:
    """valid [B, N] bool (a real event) -> the encode graph's slot masks over its S = N + 2 slots (the events, the
    query context, and the last one, RET's, which the cache hands to each candidate's own key), float32
    (docs/bundle-format.md, "Slot masks"): key_padding [B, 1, 1, S], 0 where a key may be seen, NEG_INF at padding;
    slot_keep [B, 1, S, 1], 1 but 0 in the last slot (the own slot's cached key and value are 0); slot_columns
    [B, 1, S, 2], the cache keys' two extra columns: 1 in the last slot only, and MASK_KEY at padding. The model's own
    CandidateCache.slot_masks makes them; made in the graph they were ~18 kernels per call (BENCHMARKS.md, "Session 46")."""
    cache_mask = torch.from_numpy(np.concatenate([valid, np.ones((valid.shape[0], 1), bool)], 1)).float()  # [B, T]
    return {name: t.numpy() for name, t in zip(SLOT_INPUTS, CandidateCache.slot_masks(cache_mask))}


def runtime_inputs(rotary: RotarySpec, actions: np.ndarray, ages: np.ndarray) -> dict[str, np.ndarray]:
    """The encode graph's inputs the runtime makes from a batch's actions [B, N] (0 = padding) and ages [B, N]: the
    rotary rows (rotary_rows.py) and the slot masks (slot_inputs)."""
    valid = actions > 0
    return rotary_inputs(rotary, valid, ages) | slot_inputs(valid)


def encode_graph_feed(manifest: dict[str, Any], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's encode inputs (EncodedRequest.graph_inputs' names) as a bundle's encode graph takes them: the ones
    it reads, then the rotary rows and slot masks the runtime makes of them (docs/bundle-format.md). A format-2 bundle's
    graph made its rows itself: the benchmark scripts A/B against one (scripts/score_graph_ab.py)."""
    rows = {} if manifest["format_version"] < 3 else runtime_inputs(
        RotarySpec.of_manifest(manifest["rotary"]), inputs["history_actions"], inputs["history_age_seconds"])
    return {name: (inputs | rows)[name] for name in manifest["graphs"]["encode"]["inputs"]}


class RequestEncoder:
    def __init__(self, item_index: dict[str, int], actions: Sequence[str], vocab: Vocab,
                 max_history: int, max_query_tokens: int, max_item_tokens: int = 0, reads_request_time: bool = False,
                 co_occurrence_span: int = 0):
        """max_item_tokens: > 0 for a bundle that reads a history event of an item the model was not trained on from the
        item's text when the event gives it (its "item_text": {"title", "categories"}; export_bundle's new_history_items);
        0: such events are left out, as events of unknown items without text always are.
        reads_request_time: the bundle's encode graph takes the request's time itself (request_time), not only the
        events' ages (a model trained with --absolute-time).
        co_occurrence_span: the bundle's co_occurrence.span, what co_occurrence_context reads (0: the latest second)."""
        self.item_index = item_index
        self.co_occurrence_span = co_occurrence_span
        self.max_item_tokens = max_item_tokens
        self.reads_request_time = reads_request_time
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
        # 2. events the model can read: trained items, and (bundles that read them) new items with readable text
        texts = {id(e): self.new_item_tokens(e) for e in events if e["item"] not in self.item_index}
        known = [e for e in events if e["item"] in self.item_index or texts[id(e)] is not None]
        dropped = len(events) - len(known)
        kept = known[-self.max_history:] if self.max_history > 0 else []
        n = max(len(kept), 1)  # N = 0 -> one padding event
        items = np.zeros((1, n), np.int64)
        actions = np.zeros((1, n), np.int64)
        ages = np.zeros((1, n), np.int64)
        hq = np.zeros((1, n, q), np.int64)
        any_new = any(e["item"] not in self.item_index for e in kept)
        item_text = np.zeros((1, n, self.max_item_tokens if any_new else 1), np.int64) if self.max_item_tokens else None
        for j, e in enumerate(kept):
            if e["item"] in self.item_index:
                items[0, j] = self.item_index[e["item"]]
            else:  # index 0 with its text: an item added after training
                item_text[0, j] = texts[id(e)]
            actions[0, j] = self.action_id(e["action"])
            # 4. int64 difference, clamped: events "in the future" count as age 0
            ages[0, j] = max(0, request_time - parse_timestamp(e["time"]))
            hq[0, j] = self.vocab.encode(e.get("query"), q)
        return EncodedRequest(items, actions, ages, hq,
                              np.asarray([self.vocab.encode(query, q)], np.int64),
                              dropped, [e["item"] for e in kept], item_text,
                              np.asarray([request_time], np.int64) if self.reads_request_time else None,
                              context_items(items[0], np.asarray([parse_timestamp(e["time"]) for e in kept], np.int64),
                                            self.co_occurrence_span))

    def new_item_tokens(self, event: dict[str, Any]) -> list[int] | None:
        """The item tokens of an event whose item the model was not trained on, or None when it cannot be read: a
        bundle that does not read new history items, or no "item_text" with at least one token (docs/bundle-format.md,
        "Item text")."""
        text = event.get("item_text")
        if not self.max_item_tokens or not text:
            return None
        tokens = item_tokens(self.vocab, text.get("title") or "", text.get("categories") or [], self.max_item_tokens)
        return tokens if any(t != PAD_ID for t in tokens) else None
