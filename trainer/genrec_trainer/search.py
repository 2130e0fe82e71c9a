"""Personalized search, evaluated the product-search way (Ai et al. 2017, HEM, and its successors).

Public interaction logs hold no queries, so the query behind an event is built from the item the
user went on to pick: the words of its category path (Amazon), or one of its genres (MovieLens).
Such a query names a category, not an item: many items match it equally, and what tells them
apart is the user. That is what the benchmark measures.

Training: a `fraction` of the training events become search events (their query is set); the
held-out validation and test events never carry one, so the recommendation metrics stay the
recommendation protocol.
Search test: every test event gets its query; three rankers see the same requests and the same
candidate list (full catalogue, the protocol's exclusions):
- the model with the user's history and the query;
- the same model with the query and an empty history;
- BM25 (k1 1.2, b 0.75) over each item's full title + categories text, equal scores broken by
  training popularity (items of one category differ on BM25 only by text length and stray title
  matches, so many tie).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from .data import UserSequence, history_items_of, target_counts
from .evaluate import evaluate, evaluate_served_windows, rank_metrics, target_ranks
from .model import GenRecModel
from .schema import Event, Item, write_jsonl
from .tokenizer import PAD_ID, UNK_ID, Vocab, tokenize

STYLES = ("path", "one")
RESCORE_WINDOW = 100  # the rescorer's window_size in the README's example


def category_query(item: Item, style: str, rng: np.random.Generator, max_words: int) -> str:
    """style "path": the words of the whole category path, repeats removed, the last `max_words`
    kept (the most specific end of the path); "one": the words of one category chosen at random
    (MovieLens genres). Items without categories fall back to the first words of their title."""
    if style not in STYLES:
        raise ValueError(f"unknown query style {style!r}; known: {STYLES}")
    cats = list(item.categories)
    if not cats:
        return " ".join(tokenize(item.title)[:max_words])
    if style == "one":
        return " ".join(tokenize(cats[int(rng.integers(len(cats)))])[:max_words])
    words = list(dict.fromkeys(w for c in cats for w in tokenize(c)))
    return " ".join(words[-max_words:])


class ItemQueries:
    """The query tokens an event on item i gets: [Q] int64, right-padded like every query."""

    def __init__(self, items: Sequence[Item], vocab: Vocab, style: str, max_query_tokens: int):
        self.items, self.vocab, self.style, self.max_tokens = list(items), vocab, style, max_query_tokens

    def text(self, item_index: int, rng: np.random.Generator) -> str:
        return category_query(self.items[item_index - 1], self.style, rng, self.max_tokens)

    def tokens(self, text: str) -> np.ndarray:
        return np.asarray(self.vocab.encode(text, self.max_tokens), np.int64)


def attach_training_queries(seqs: list[UserSequence], train_examples: Sequence[tuple[int, int]],
                            queries: ItemQueries, fraction: float, rng: np.random.Generator) -> int:
    """Turn a random `fraction` of the training target events into search events, in place.
    Returns how many. Positions not in train_examples (validation, test) are left untouched."""
    count = 0
    for u, t in train_examples:
        if rng.random() < fraction:
            seqs[u].query_tokens[t] = queries.tokens(queries.text(int(seqs[u].items[t]), rng))
            count += 1
    return count


def with_target_queries(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                        queries: ItemQueries, rng: np.random.Generator) -> tuple[list[UserSequence], list[str]]:
    """A copy of seqs in which each example's target event carries its query (the search
    request), and the query texts in example order."""
    out, texts = list(seqs), []
    for u, t in examples:
        text = queries.text(int(seqs[u].items[t]), rng)
        q = out[u].query_tokens.copy()
        q[t] = queries.tokens(text)
        out[u] = replace(out[u], query_tokens=q)
        texts.append(text)
    return out, texts


class BM25:
    """Okapi BM25 over item texts (index i + 1 = items[i]; column 0 = padding scores 0)."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75):
        docs = [Counter(tokenize(t)) for t in texts]
        self.lengths = np.array([sum(d.values()) for d in docs], np.float64)
        self.avg_len = float(self.lengths.mean()) if len(docs) else 0.0
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, d in enumerate(docs):
            for term, tf in d.items():
                self.postings.setdefault(term, []).append((i + 1, tf))
        self.num_docs = len(docs)

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.num_docs - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """[num_docs + 1] BM25 score of every item for the query (repeated query words count once)."""
        out = np.zeros(self.num_docs + 1, np.float64)
        for term in dict.fromkeys(tokenize(query)):
            idf = self.idf(term)
            for doc, tf in self.postings.get(term, ()):
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[doc - 1] / self.avg_len)
                out[doc] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return out


def item_search_text(item: Item) -> str:
    return " ".join([item.title, *item.categories])


def tiebreak(preference: np.ndarray) -> np.ndarray:
    """preference (non-negative, higher first) scaled into [0, 1e-6): small enough to order (in practice) only items
    whose BM25 scores are equal."""
    return preference / (preference.max() + 1.0) * 1e-6


def popularity_tiebreak(seqs: Sequence[UserSequence], train_examples: Sequence[tuple[int, int]],
                        num_items: int) -> np.ndarray:
    """[num_items + 1] values in [0, 1e-6): training-target popularity (tiebreak)."""
    return tiebreak(target_counts(seqs, train_examples, num_items))


def bm25_scorer(items: Sequence[Item], seqs: Sequence[UserSequence],
                train_examples: Sequence[tuple[int, int]]) -> Callable[[str], np.ndarray]:
    """query -> [num_items + 1] BM25 scores of the catalogue + the popularity tie-break: the search baseline, and the
    first stage whose top hits the rescorer reorders."""
    bm25 = BM25([item_search_text(it) for it in items])
    tiebreak = popularity_tiebreak(seqs, train_examples, len(items))
    return lambda query: bm25.scores(query) + tiebreak


def bm25_ranks(scorer: Callable[[str], np.ndarray], seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
               query_texts: Sequence[str]) -> np.ndarray:
    """0-based rank of each example's target under BM25 (+ popularity tie-break: bm25_scorer), with the same
    exclusions as the model's evaluation (the user's earlier items)."""
    ranks = []
    for start in range(0, len(examples), 512):
        chunk = examples[start:start + 512]
        scores = np.stack([scorer(q) for q in query_texts[start:start + 512]])
        targets = np.array([seqs[u].items[t] for u, t in chunk])
        ranks.append(target_ranks(scores, targets, history_items_of(seqs, chunk)))
    return np.concatenate(ranks) if ranks else np.zeros(0, np.int64)


def query_text(tokens: np.ndarray, vocab: Vocab) -> str | None:
    """The text of an event's query tokens, which encodes back to the same tokens (None: no query). A token the vocab
    does not know has no text to give back, so it is an error, not a silent other query."""
    ids = [int(t) for t in tokens if t != PAD_ID]
    if UNK_ID in ids:
        raise ValueError("a query holds a word outside the vocab ([UNK]): its text cannot be written back")
    return " ".join(vocab.tokens[i] for i in ids) or None


def search_log(seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]], items: Sequence[Item],
               action_names: Sequence[str], vocab: Vocab) -> list[Event]:
    """The search test's requests as an event log: per example, its user's events up to and including the target, each
    with the query the model read at it (the training searches' and the target's own). Its last event per user is the
    target and the earlier ones the history, so `genrec-tools evaluate` sends a live node what the trainer's search test
    read (with `--protocol loo`: the log holds only the test's users, already filtered by the trainer's protocol)."""
    log = []
    for u, t in examples:
        s = seqs[u]
        for p in range(t + 1):
            label = int(s.labels[p])
            log.append(Event(s.user_id, items[s.items[p] - 1].item_id, action_names[s.actions[p] - 1], int(s.timestamps[p]),
                             query_text(s.query_tokens[p], vocab), label if label >= 0 else None))
    return log


def evaluate_search(model: GenRecModel, seqs: Sequence[UserSequence], test: Sequence[tuple[int, int]],
                    train_examples: Sequence[tuple[int, int]], items: Sequence[Item], queries: ItemQueries,
                    max_history: int, rng: np.random.Generator, served: dict[str, Any] | None = None,
                    log_out: str | None = None, action_names: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """The search test: each test event becomes a search request with its category query; the
    model with history, the model without history and BM25 rank the same candidates. served: evaluate()'s served-order
    arguments (rerank_top, retrieval_weight, co_occurrence, co_occurrence_weight), the bundle's, so that "model" also
    has what a search with "rank": true returns (blend<M>_*): one set of weights serves both kinds of request.
    log_out: also write the requests as an event log (search_log; action_names: the log's actions, in the trainer's
    order)."""
    seqs_q, texts = with_target_queries(seqs, test, queries, rng)
    if log_out:
        write_jsonl(log_out, (e.to_dict() for e in search_log(seqs_q, test, items, action_names, queries.vocab)))
    bm25 = bm25_scorer(items, seqs, train_examples)
    results = {"model": evaluate(model, seqs_q, test, max_history, **(served or {})),
               "model_no_history": evaluate(model, seqs_q, test, 0),
               "bm25": {**rank_metrics(bm25_ranks(bm25, seqs_q, test, texts)), "users": float(len(test))}}
    if served and served.get("rerank_top"):
        results |= rescored_bm25(model, seqs_q, test, dict(zip(test, texts)), bm25, max_history, served)
    return results


def rescored_bm25(model: GenRecModel, seqs: Sequence[UserSequence], test: Sequence[tuple[int, int]],
                  query_of: dict[tuple[int, int], str], bm25: Callable[[str], np.ndarray], max_history: int,
                  served: dict[str, Any], window: int = RESCORE_WINDOW) -> dict[str, dict[str, float]]:
    """BM25's top `window` hits of each search reordered by the model, as the plugin's rescorer reorders a `match`
    query's (GenrecRescorer); the hits after the window keep their BM25 order. The window's orders:
    "bm25_rescored<W>": the rescorer at its default weights, 1 x BM25 + 1 x the served score (the blend of a `"rank":
    true` query, the bundle's w and v, as a positive score); "bm25_rescored<W>_blend": that score alone (query_weight
    0); "bm25_rescored<W>_head" and "bm25_rescored<W>_head_alone": the same two with the ranking head's probability in
    place of the served score (retrieval_weight 0). A bundle served by the head alone (w 0) has only those two."""
    windows = evaluate_served_windows(
        model, seqs, test, max_history, window, co_occurrence=served.get("co_occurrence"),
        first_stage=lambda requests: np.stack([bm25(query_of[r]) for r in requests]))
    name = f"bm25_rescored{window}"
    orders = {f"{name}_head": windows.rescorer_ranks(1.0, 1.0), f"{name}_head_alone": windows.rescorer_ranks(0.0, 1.0)}
    if served.get("retrieval_weight"):
        blend = (served["retrieval_weight"], served.get("co_occurrence_weight", 0.0))
        orders |= {name: windows.rescorer_ranks(1.0, 1.0, *blend),
                   f"{name}_blend": windows.rescorer_ranks(0.0, 1.0, *blend)}
    return {order: {**rank_metrics(ranks), "users": float(len(ranks))} for order, ranks in orders.items()}
