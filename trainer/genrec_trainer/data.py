"""Events -> per-user sequences -> leave-one-out split -> left-padded training batches."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .schema import Event, Item
from .tokenizer import Vocab


@dataclass
class UserSequence:
    user_id: str
    items: np.ndarray          # int64 [n] model item indices
    actions: np.ndarray        # int64 [n] 1 + position in the action list
    timestamps: np.ndarray     # int64 [n] Unix seconds
    query_tokens: np.ndarray   # int64 [n, Q] (all PAD for non-search events)
    labels: np.ndarray         # int64 [n], -1 = unlabelled


def shuffled_within_seconds(seqs: Sequence[UserSequence], upto: dict[int, int],
                             rng: np.random.Generator) -> list[UserSequence]:
    """The log with each user's training events (positions <= upto[u]) reordered at random inside every run of
    equal timestamps: a log's order inside one second is no signal (MovieLens: a page of ratings submitted at once),
    so training on a fresh order each epoch keeps the model from reading one. The held-out events and their place are
    untouched; users without training events are returned as they are."""
    out = []
    for u, s in enumerate(seqs):
        end = upto.get(u, -1) + 1
        order = np.arange(len(s.items))
        start = 0
        while start < end:
            stop = start + 1
            while stop < end and s.timestamps[stop] == s.timestamps[start]:
                stop += 1
            if stop - start > 1:
                order[start:stop] = start + rng.permutation(stop - start)
            start = stop
        out.append(UserSequence(s.user_id, s.items[order], s.actions[order], s.timestamps[order],
                                s.query_tokens[order], s.labels[order]))
    return out


def item_index(items: Sequence[Item]) -> dict[str, int]:
    """External id -> model index, 1-based (0 is padding), in catalogue order."""
    return {it.item_id: i + 1 for i, it in enumerate(items)}


def build_vocab(items: Sequence[Item], events: Sequence[Event]) -> Vocab:
    texts = [it.title for it in items] + [c for it in items for c in it.categories]
    texts += [e.query for e in events if e.query]
    return Vocab.build(texts)


def item_token_table(items: Sequence[Item], vocab: Vocab, max_item_tokens: int) -> np.ndarray:
    """[num_items + 1, max_item_tokens] category + title token ids; row 0 (padding) is empty.
    Categories come first: when the text is longer than max_item_tokens, the cut falls on the
    title's tail (long Amazon titles), never on the categories that group items together."""
    table = np.zeros((len(items) + 1, max_item_tokens), np.int64)
    for i, it in enumerate(items):
        table[i + 1] = item_tokens(vocab, it.title, it.categories, max_item_tokens)
    return table


def item_tokens(vocab: Vocab, title: str, categories: Sequence[str], max_item_tokens: int) -> list[int]:
    """One item's text as the model reads it: its categories, then its title, as one text
    (docs/bundle-format.md, "Item text"; the Java runtime encodes an item added after training so)."""
    return vocab.encode(" ".join([*categories, title]), max_item_tokens)


def group_by_user(events: Sequence[Event], index: dict[str, int], actions: Sequence[str],
                  vocab: Vocab, max_query_tokens: int) -> list[UserSequence]:
    """Per user, stable sort by (timestamp, original order); unknown items dropped."""
    action_id = {a: i + 1 for i, a in enumerate(actions)}
    per_user: dict[str, list[tuple[int, int, Event]]] = defaultdict(list)
    for order, e in enumerate(events):
        if e.item_id in index:
            per_user[e.user_id].append((e.timestamp, order, e))
    seqs = []
    for user in sorted(per_user):
        evs = [e for _, _, e in sorted(per_user[user], key=lambda x: (x[0], x[1]))]
        seqs.append(UserSequence(
            user_id=user,
            items=np.array([index[e.item_id] for e in evs], np.int64),
            actions=np.array([action_id[e.action] for e in evs], np.int64),
            timestamps=np.array([e.timestamp for e in evs], np.int64),
            query_tokens=np.array([vocab.encode(e.query, max_query_tokens) for e in evs], np.int64
                                  ).reshape(len(evs), max_query_tokens),
            labels=np.array([-1 if e.label is None else e.label for e in evs], np.int64)))
    return seqs


@dataclass
class Split:
    """Leave-one-out: per user the last event is the test target, the one before validation.
    Training targets are positions 0 .. n-3 (position 0 = empty history)."""
    train: list[tuple[int, int]]   # (user position, target position)
    valid: list[tuple[int, int]]
    test: list[tuple[int, int]]


def leave_one_out(seqs: Sequence[UserSequence]) -> Split:
    train, valid, test = [], [], []
    for u, s in enumerate(seqs):
        n = len(s.items)
        if n >= 3:
            test.append((u, n - 1))
            valid.append((u, n - 2))
            train.extend((u, t) for t in range(n - 2))
        else:  # too short to hold out: everything trains
            train.extend((u, t) for t in range(n))
    return Split(train, valid, test)


def make_batch(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
               max_history: int, use_target_query: bool = True) -> dict[str, torch.Tensor]:
    """Example (u, t): history = events [t - max_history, t) of user u, request time = time of
    event t, request query = query of event t (personalized search) -> target item of event t.
    History is LEFT-padded to the longest history in the batch (>= 1), as the runtime does.
    label / history_labels: the events' labels (-1 = unlabelled; history padding is -1 too).
    request_time: event t's timestamp (seconds; 0 in an order-only log)."""
    b = len(examples)
    q = seqs[0].query_tokens.shape[1]
    lens = [min(t, max_history) for _, t in examples]
    n = max(1, max(lens))
    items = np.zeros((b, n), np.int64)
    actions = np.zeros((b, n), np.int64)
    ages = np.zeros((b, n), np.int64)
    hq = np.zeros((b, n, q), np.int64)
    query = np.zeros((b, q), np.int64)
    target = np.zeros(b, np.int64)
    request_time = np.zeros(b, np.int64)
    label = np.zeros(b, np.int64)
    hlabels = np.full((b, n), -1, np.int64)
    for row, ((u, t), k) in enumerate(zip(examples, lens)):
        s = seqs[u]
        lo = t - k
        if k:
            items[row, n - k:] = s.items[lo:t]
            actions[row, n - k:] = s.actions[lo:t]
            ages[row, n - k:] = np.maximum(0, s.timestamps[t] - s.timestamps[lo:t])
            hq[row, n - k:] = s.query_tokens[lo:t]
            hlabels[row, n - k:] = s.labels[lo:t]
        if use_target_query:
            query[row] = s.query_tokens[t]
        target[row] = s.items[t]
        request_time[row] = s.timestamps[t]
        label[row] = s.labels[t]
    as_t = torch.from_numpy
    return {"history_items": as_t(items), "history_actions": as_t(actions),
            "history_age_seconds": as_t(ages), "history_query_tokens": as_t(hq),
            "query_tokens": as_t(query), "target": as_t(target), "label": as_t(label),
            "history_labels": as_t(hlabels), "request_time": as_t(request_time)}


def history_items_of(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """All items before the target (not only the last max_history): excluded from the ranking."""
    return [seqs[u].items[:t] for u, t in examples]


def target_counts(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]], num_items: int) -> np.ndarray:
    """[num_items + 1] how often each item index is the target of `examples` (popularity)."""
    counts = np.zeros(num_items + 1, np.float64)
    for u, t in examples:
        counts[seqs[u].items[t]] += 1
    return counts


def data_fingerprint(items: Sequence[Item], events: Sequence[Event]) -> str:
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps(it.to_dict(), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    h.update(b"--events--\n")
    for e in events:
        h.update(json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return "sha256:" + h.hexdigest()
