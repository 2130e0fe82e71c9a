"""Offline evaluation: leave-one-out, full-catalogue ranking by cosine, history excluded.

Protocols (make_split):
- "movielens" (HSTU's): every rating is an event; per user the last event is the test target and
  the one before it validation (per-epoch curves / model selection); history = up to max_history
  (200 in the published setup) preceding events; full-catalogue ranking with the user's earlier
  items excluded; HR@10/50, NDCG@10/50, MRR over all users; ranking AUC of the ranking head on
  the held-out (test) events' labels (rating >= 4).
- "beauty" (S3-Rec/P5/TIGER Beauty): test = last item, validation = second-to-last (model
  selection only), training targets = the rest; history up to 50 (max_history); seen items
  filtered; test users whose last item is cold (in no user's sequence without its test item) or
  already in their own history are dropped, and counted. Recall@10 (= HR@10 with one target)
  and NDCG@10.
- "loo": plain leave-one-out (synthetic / generic data), as "movielens".
Equal timestamps: events are stably sorted by (timestamp, file order), so ties keep file order;
data without timestamps is order-only (file order).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .cooccurrence import CoOccurrence
from .data import Split, UserSequence, history_items_of, leave_one_out, make_batch
from .model import GenRecModel

PROTOCOL_TEXT = {
    "movielens": "leave-one-out (last event = test, second-to-last = validation), full-catalogue ranking, "
                 "history items excluded, equal timestamps in file order (stable sort)",
    "beauty": "leave-one-out (last = test, second-to-last = validation for model selection only), "
              "full-catalogue ranking, seen items filtered, test users with a cold or already-seen last item "
              "dropped, order-only (file order; no timestamps)",
    "loo": "leave-one-out (last event = test, second-to-last = validation), full-catalogue ranking, "
           "history items excluded, equal timestamps in file order (stable sort)",
}


def beauty_split(seqs: Sequence[UserSequence]) -> tuple[Split, dict]:
    """Leave-one-out with the Beauty test filter. Returns the split and the counts:
    dropped_cold = test users whose last item occurs in no user's sequence without its own last
    item (so the model never saw it); dropped_seen = test users whose last item already occurs
    earlier in their own sequence (a repeat cannot be recommended once seen items are filtered).
    A user who is both is counted as cold."""
    split = leave_one_out(seqs)
    known: set[int] = set()
    for s in seqs:
        known.update(s.items[:-1].tolist() if len(s.items) >= 3 else s.items.tolist())
    test, cold, seen = [], 0, 0
    for u, t in split.test:
        target = int(seqs[u].items[t])
        if target not in known:
            cold += 1
        elif target in set(seqs[u].items[:t].tolist()):
            seen += 1
        else:
            test.append((u, t))
    return Split(split.train, split.valid, test), {"test_users_before_filter": len(split.test),
                                                   "dropped_cold": cold, "dropped_seen": seen,
                                                   "test_users": len(test)}


def make_split(seqs: Sequence[UserSequence], protocol: str) -> tuple[Split, dict]:
    if protocol == "beauty":
        return beauty_split(seqs)
    if protocol in ("movielens", "loo"):
        split = leave_one_out(seqs)
        # users with fewer than 3 events hold out nothing (test and validation need one event each and a history)
        return split, {"test_users": len(split.test), "training_only_users": len(seqs) - len(split.test)}
    raise ValueError(f"unknown protocol {protocol!r}")


def equal_timestamp_events(seqs: Sequence[UserSequence]) -> int:
    """How many events share their timestamp with the previous event of the same user."""
    return int(sum(int((np.diff(s.timestamps) == 0).sum()) for s in seqs))


def rankable_scores(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray]) -> np.ndarray:
    """scores [B, I + 1] (column = item index) as float64 with column 0 (padding) and each row's
    excluded items (the target kept) at -inf: what the full-catalogue ranking ranks."""
    scores = scores.astype(np.float64).copy()
    scores[:, 0] = -np.inf
    for b, ex in enumerate(excluded):
        ex = ex[ex != targets[b]]
        scores[b, ex] = -np.inf
    return scores


def target_ranks(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray]) -> np.ndarray:
    """0-based rank of each target among all items. scores [B, I + 1] (column = item index;
    column 0 = padding, never ranked); excluded[b] = item indices removed (the target is kept).
    Ties are counted pessimistically (an equal score ranks above the target)."""
    return ranks_of_targets(rankable_scores(scores, targets, excluded), targets)


def ranks_of_targets(rankable: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """rankable_scores' output (or any scores with the excluded items at -inf) -> 0-based rank of each row's target,
    ties pessimistic."""
    return (rankable >= rankable[np.arange(len(targets)), targets][:, None]).sum(1) - 1


# The retrieval weights choose_retrieval_weight tries, in units of the raw similarity (a cosine model's
# softmax temperature 0.05 makes 20 the weight at which the retrieval counts as much as in training).
RETRIEVAL_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0)


@dataclass(frozen=True)
class ServedWindows:
    """The two stages a served request runs, per evaluated request: the `top` items by retrieval
    score (the kNN hits) and what the ranking head says of each. The served order within the
    window is by log sigmoid(ranking logit) + retrieval_weight * similarity + co_occurrence_weight * prior, as
    the plugin orders it (RankingScores on the Java side; the prior: cooccurrence.py); every item outside the window
    follows in retrieval order."""
    similarity: np.ndarray      # [B, top] raw retrieval similarity (cosine or dot); -inf = padding or excluded
    log_p: np.ndarray           # [B, top] log sigmoid of the ranking logit; -inf where similarity is -inf
    target_at: np.ndarray       # [B] the target's column in the window; -1 when outside it
    retrieval_rank: np.ndarray  # [B] the target's 0-based rank in the full retrieval order
    prior: np.ndarray           # [B, top] the co-occurrence prior, >= 0 (0 without one)

    def target_ranks(self, retrieval_weight: float = 0.0, co_occurrence_weight: float = 0.0) -> np.ndarray:
        """0-based rank of each target in the served order. Ties pessimistic, as in target_ranks;
        a target outside the window keeps its retrieval rank (at least `top`)."""
        return ranks_in_windows(self.blend(retrieval_weight, co_occurrence_weight), self.target_at, self.retrieval_rank)

    def blend(self, retrieval_weight: float, co_occurrence_weight: float) -> np.ndarray:
        """[B, top] the served blend of each hit: log P + retrieval_weight x similarity + co_occurrence_weight x prior."""
        # weight 0 adds nothing (0 * -inf would be NaN); a positive weight keeps padding at -inf
        key = self.log_p + retrieval_weight * self.similarity if retrieval_weight else self.log_p
        if co_occurrence_weight:
            key = key + co_occurrence_weight * self.prior
        return key

    @staticmethod
    def concatenate(parts: Sequence["ServedWindows"]) -> "ServedWindows":
        kind = type(parts[0]) if parts else ServedWindows
        return kind(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(kind)))


@dataclass(frozen=True)
class RescoredWindows(ServedWindows):
    """Windows picked by another first stage than the model's kNN (BM25, for a `match` query) and reordered by the
    model, as the plugin's rescorer reorders any query's top hits (GenrecRescorer). retrieval_rank is then the
    target's first-stage rank, and the inherited target_ranks(w, v) the window in the served blend's order."""
    first_stage: np.ndarray     # [B, top] the first stage's score; -inf = padding or excluded

    def rescorer_ranks(self, query_weight: float = 1.0, rescore_query_weight: float = 1.0,
                       retrieval_weight: float = 0.0, co_occurrence_weight: float = 0.0) -> np.ndarray:
        """0-based rank of each target in the order the rescorer returns: query_weight x the first stage's score +
        rescore_query_weight x the hit's served score (the rescorer's defaults: 1 and 1). The served score is the
        plugin's (RankingScores.score): with retrieval_weight 0 the ranking head's probability, else the served blend
        x = log P + retrieval_weight x similarity + co_occurrence_weight x prior as a positive score, 1 / (1 - x) below
        0 and 1 + x above."""
        if retrieval_weight:
            x = self.blend(retrieval_weight, co_occurrence_weight)
            with np.errstate(divide="ignore"):
                served = np.where(x < 0, 1.0 / (1.0 - x), 1.0 + x)
        else:
            served = np.exp(self.log_p)
        key = rescore_query_weight * served
        if query_weight:  # 0 * -inf would be NaN
            key = key + query_weight * self.first_stage
        key = np.where(np.isneginf(self.first_stage), -np.inf, key)
        return ranks_in_windows(key, self.target_at, self.retrieval_rank)


def ranks_in_windows(key: np.ndarray, target_at: np.ndarray, first_stage_rank: np.ndarray) -> np.ndarray:
    """0-based rank of each target when a first stage's top `top` (key [B, top], the second stage's score; -inf never
    above) is reordered by key and the rest follows in the first stage's order. target_at: the target's column, -1
    outside the window, where it keeps its first-stage rank (at least `top`). Ties pessimistic, as in target_ranks."""
    rows = np.arange(len(target_at))
    target_key = key[rows, np.maximum(target_at, 0)]
    return np.where(target_at >= 0, (key >= target_key[:, None]).sum(1) - 1,
                    np.maximum(first_stage_rank, key.shape[1]))


def served_windows(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray], top: int,
                   rank_logits: Callable[[np.ndarray], np.ndarray],
                   prior: Callable[[np.ndarray], np.ndarray] | None = None,
                   first_stage: np.ndarray | None = None) -> ServedWindows:
    """The retrieval's top `top` of each row (column 0 and exclusions as in target_ranks) and the
    ranking head's view of them. rank_logits(candidates [B, top] int64) -> [B, top] logits; prior(candidates)
    -> [B, top] the co-occurrence prior of each (None: 0). first_stage [B, I + 1]: another first stage's scores (BM25)
    pick the window instead of the retrieval's: RescoredWindows."""
    scores = rankable_scores(scores, targets, excluded)
    picks = scores if first_stage is None else rankable_scores(first_stage, targets, excluded)
    rows = np.arange(len(targets))[:, None]
    top = min(top, scores.shape[1])
    window = np.argpartition(-picks, top - 1, axis=1)[:, :top]           # [B, top], in no particular order
    similarity = scores[rows, window]
    padding = np.isneginf(picks[rows, window])                           # padding or excluded (a short list)
    logits = np.asarray(rank_logits(window), np.float64)
    log_p = -np.logaddexp(0.0, -logits)                                  # log sigmoid, stable for any logit
    log_p[padding] = -np.inf                                             # never above a hit
    in_window = window == targets[:, None]
    target_at = np.where(in_window.any(1), in_window.argmax(1), -1)
    windows = (similarity, log_p, target_at, ranks_of_targets(picks, targets),
               np.zeros(window.shape) if prior is None else np.asarray(prior(window), np.float64))
    return ServedWindows(*windows) if first_stage is None else RescoredWindows(*windows, picks[rows, window])


def reranked_target_ranks(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray], top: int,
                          rank_logits: Callable[[np.ndarray], np.ndarray], retrieval_weight: float = 0.0) -> np.ndarray:
    """0-based rank of each target in the order a served request returns (ServedWindows)."""
    return served_windows(scores, targets, excluded, top, rank_logits).target_ranks(retrieval_weight)


def choose_retrieval_weight(windows: ServedWindows, weights: Sequence[float] = RETRIEVAL_WEIGHTS) -> tuple[float, dict[float, float]]:
    """The weight of RETRIEVAL_WEIGHTS whose served order has the best NDCG@10 on `windows` (the
    validation requests: the ranking head predicts a label, e.g. a rating, and alone it may order
    the next item worse than retrieval does). Ties go to the smaller weight. Returns it and the
    NDCG@10 of every weight tried."""
    tried = {float(w): ndcg(windows.target_ranks(w), 10) for w in weights}
    best = max(tried.values())
    return next(w for w, v in tried.items() if v == best), tried


# The co-occurrence weights choose_served_weights tries, in units of log(1 + summed counts) beside the blend's
# retrieval_weight * similarity (offline, fused with the raw similarity, 0.5-1 was chosen on every ML-100K run:
# BENCHMARKS.md, "ML-100K, session 53"; the blend's retrieval weight scales that up).
CO_OCCURRENCE_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0)


def choose_served_weights(windows: ServedWindows, retrieval_weights: Sequence[float] = RETRIEVAL_WEIGHTS[1:],
                          co_occurrence_weights: Sequence[float] = CO_OCCURRENCE_WEIGHTS
                          ) -> tuple[float, float, dict[str, float]]:
    """The pair (retrieval weight, co-occurrence weight) of the two grids whose served order has the best NDCG@10 on
    `windows` (the validation requests); ties go to the smaller retrieval weight, then the smaller co-occurrence
    weight. Returns both and every pair's NDCG@10, keyed "w,v"."""
    tried = {(float(w), float(v)): ndcg(windows.target_ranks(w, v), 10)
             for w in retrieval_weights for v in co_occurrence_weights}
    best = max(tried.values())
    w, v = next(pair for pair, value in tried.items() if value == best)
    return w, v, {f"{a:g},{b:g}": value for (a, b), value in tried.items()}


def hits(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per request: 1.0 where the 0-based target rank is inside the top k."""
    return (np.asarray(ranks) < k).astype(np.float64)


def ndcg_gains(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per request: NDCG@k of one relevant item, DCG = 1 / log2(rank + 2), IDCG = 1."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)


def hit_rate(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(hits(ranks, k))) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ndcg_gains(ranks, k))) if len(ranks) else 0.0


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / (ranks + 1.0))) if len(ranks) else 0.0


def rank_metrics(ranks: np.ndarray) -> dict[str, float]:
    """The protocol's ranking metrics from 0-based target ranks."""
    return {"hr@10": hit_rate(ranks, 10), "ndcg@10": ndcg(ranks, 10), "hr@50": hit_rate(ranks, 50),
            "ndcg@50": ndcg(ranks, 50), "mrr": mrr(ranks)}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC via the Mann-Whitney statistic, ties counted half. NaN if one class is absent."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):  # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos_rank_sum = ranks[np.argsort(order, kind="mergesort")][:len(pos)].sum()
    return float((pos_rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def by_history_length(examples: Sequence[tuple[int, int]], max_history: int) -> list[tuple[int, int]]:
    """The order the examples are encoded in: batches of similar history length (less padding; outputs do not
    depend on padding). Stable, so an ordered list keeps its order."""
    return sorted(examples, key=lambda ut: min(ut[1], max_history))


def catalogue(model: GenRecModel) -> tuple[Tensor, np.ndarray]:
    """The model's item table [I + 1, D] (the encode's and score's input rows) and every item's retrieval embedding
    [I + 1, E], computed once per evaluation."""
    table = model.item_table()
    all_items = torch.arange(model.cfg.num_items + 1, device=table.device)
    return table, model.item_embeddings(all_items, table).cpu().numpy()


def encode_batch(model: GenRecModel, batch: dict[str, Tensor], table: Tensor):
    """model.encode() of a make_batch() batch on the model's device: user [B, E] and the cache (keys, values, mask)."""
    on_dev = {k: v.to(table.device) for k, v in batch.items()}
    return model.encode(on_dev["history_items"], on_dev["history_actions"], on_dev["history_age_seconds"],
                        on_dev["history_query_tokens"], on_dev["query_tokens"], item_table=table,
                        request_time=on_dev["request_time"])


def _encoded_batches(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                     max_history: int, batch_size: int):
    """Per batch of requests: the batch, the user embeddings [B, E], the retrieval scores of the whole catalogue
    [B, I + 1], the items to exclude, and rank_logits(candidates [B, M]) -> [B, M] against the encoded histories."""
    model.eval()
    examples = by_history_length(examples, max_history)
    dev = model.item_tokens.device                                      # the model's device (CPU or CUDA)
    table, item_emb = catalogue(model)                                  # [I + 1, D], [I + 1, E]
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        batch = make_batch(seqs, chunk, max_history)
        user, ck, cv, cm = encode_batch(model, batch, table)

        def rank_logits(candidates: np.ndarray, rows: Tensor | None = None, ck=ck, cv=cv, cm=cm) -> np.ndarray:
            # rows: another item table to take the candidates' rows from (default: the model's)
            return model.score(ck, cv, cm, torch.as_tensor(candidates).to(dev), item_table=table if rows is None else rows).cpu().numpy()
        user = user.cpu().numpy()
        yield batch, user, user @ item_emb.T, history_items_of(seqs, chunk), rank_logits


@torch.no_grad()
def evaluate(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
             max_history: int, batch_size: int = 256, rerank_top: int = 0,
             retrieval_weight: float | None = None, cold_items: bool = False,
             co_occurrence: CoOccurrence | None = None, co_occurrence_weight: float = 0.0) -> dict[str, float]:
    """The protocol's metrics of the retrieval ranking and the ranking head's AUC. With rerank_top
    M > 0 also those of the order a served request returns (ServedWindows): the retrieval's top M
    reordered by the ranking head alone ("rerank<M>_hr@10", ...) and, given retrieval_weight, by
    the head blended with the retrieval similarity ("blend<M>_hr@10", ...). With cold_items (models
    with item text), "cold_hr@10", ...: each held-out item ranked by its text-only embedding
    (model.cold_item_embeddings) among the others' usual ones, as if it had been added after training;
    with rerank_top and retrieval_weight also "cold_blend<M>_hr@10", ...: the served order when that new
    item is ranked too, the ranking head reading its text-only row (and, with the co-occurrence term, the new item
    without counts: the bundle's table has none for an item added after training).
    With co_occurrence and a co_occurrence_weight > 0 the blend adds that prior (cooccurrence.py), as the bundle serves
    it, and "blend<M>_without_prior_hr@10", ... are the blend without it."""
    ranks, rank_scores, labels, windows, cold_ranks, cold_windows = [], [], [], [], [], []
    cold = model.cold_item_embeddings(model.item_tokens).cpu().numpy() if cold_items else None  # [I + 1, E]
    if cold is not None and rerank_top and retrieval_weight is not None:
        # rows I + 1 .. 2I + 1: each item's text alone, so a window can hold the target as a new item beside trained ones
        as_new_rows = torch.cat([model.item_table(), model.text_table()])
        shift = model.cfg.num_items + 1
    priors = _co_occurrence_priors(co_occurrence, seqs, examples, max_history, batch_size)
    for batch, user, retrieval, excluded, rank_logits in _encoded_batches(model, seqs, examples, max_history,
                                                                          batch_size):
        target = batch["target"].numpy()
        prior = next(priors)
        ranks.append(target_ranks(retrieval, target, excluded))
        if cold is not None:
            as_new = retrieval.copy()
            as_new[np.arange(len(target)), target] = np.einsum("be,be->b", user, cold[target])
            cold_ranks.append(target_ranks(as_new, target, excluded))
            if rerank_top and retrieval_weight is not None:
                def as_new_logits(window: np.ndarray, target=target, rank_logits=rank_logits) -> np.ndarray:
                    return rank_logits(np.where(window == target[:, None], window + shift, window), as_new_rows)

                def as_new_prior(window: np.ndarray, target=target, prior=prior) -> np.ndarray:
                    return np.where(window == target[:, None], 0.0, prior(window))
                cold_windows.append(served_windows(as_new, target, excluded, rerank_top, as_new_logits,
                                                   None if prior is None else as_new_prior))
        if rerank_top:
            windows.append(served_windows(retrieval, target, excluded, rerank_top, rank_logits, prior))
        rank_scores.append(rank_logits(target[:, None])[:, 0])
        labels.append(batch["label"].numpy())
    r = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
    s, lab = (np.concatenate(rank_scores), np.concatenate(labels)) if ranks else (np.zeros(0), np.zeros(0))
    out = {**rank_metrics(r), "auc": auc(s, lab), "users": float(len(r))} | liked_metrics("", r, lab)
    if cold_ranks:
        out |= {"cold_" + k: v for k, v in rank_metrics(np.concatenate(cold_ranks)).items()}
    if cold_windows:
        cold_served = ServedWindows.concatenate(cold_windows).target_ranks(retrieval_weight, co_occurrence_weight)
        out |= {f"cold_blend{rerank_top}_" + k: v for k, v in rank_metrics(cold_served).items()}
    if rerank_top and windows:
        served = ServedWindows.concatenate(windows)
        orders = {f"rerank{rerank_top}_": (0.0, 0.0)}
        if retrieval_weight is not None:
            orders[f"blend{rerank_top}_"] = (retrieval_weight, co_occurrence_weight)
            if co_occurrence_weight:
                orders[f"blend{rerank_top}_without_prior_"] = (retrieval_weight, 0.0)
        for prefix, weights in orders.items():
            ranks_served = served.target_ranks(*weights)
            out |= {prefix + k: v for k, v in rank_metrics(ranks_served).items()} | liked_metrics(prefix, ranks_served, lab)
    return out


@torch.no_grad()
def example_ranks(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                  max_history: int, batch_size: int = 256) -> list[tuple[int, int, int]]:
    """(user, position, rank) of each example's target, ranked as evaluate() ranks it (0-based, full catalogue, the
    history excluded). Two runs tested on the same users pair up example by example, which a comparison of their
    means over seeds cannot do (scripts/paired_ranks.py)."""
    ordered = by_history_length(examples, max_history)
    ranks = [target_ranks(retrieval, batch["target"].numpy(), excluded)
             for batch, _, retrieval, excluded, _ in _encoded_batches(model, seqs, ordered, max_history, batch_size)]
    return [(u, t, int(r)) for (u, t), r in zip(ordered, np.concatenate(ranks) if ranks else [])]


@torch.no_grad()
def example_scores(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                   max_history: int, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The examples in encoding order [N, 3] (user, position, target item) and what the full-catalogue ranking
    ranks for each [N, I + 1] float32: the retrieval scores with padding and the history (the target kept) at -inf.
    For studying another score fused with the model's offline (scripts/burst_prior.py), on evaluate()'s footing."""
    ordered = by_history_length(examples, max_history)
    rows = [rankable_scores(retrieval, batch["target"].numpy(), excluded).astype(np.float32)
            for batch, _, retrieval, excluded, _ in _encoded_batches(model, seqs, ordered, max_history, batch_size)]
    width = model.cfg.num_items + 1
    return (np.asarray([(u, t, seqs[u].items[t]) for u, t in ordered], dtype=np.int64).reshape(-1, 3),
            np.concatenate(rows) if rows else np.zeros((0, width), np.float32))


def liked_metrics(prefix: str, ranks: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """HR@10 and NDCG@10 over the requests whose held-out event is labelled positive (MovieLens: a
    rating >= 4): how often the order finds a next item the user also liked, what a ranking head
    that predicts the label is for. Empty for data without both labels (like auc's NaN)."""
    liked = labels == 1
    if not liked.any() or not (labels == 0).any():
        return {}
    return {f"{prefix}liked_hr@10": hit_rate(ranks[liked], 10), f"{prefix}liked_ndcg@10": ndcg(ranks[liked], 10)}


@torch.no_grad()
def evaluate_served_windows(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                            max_history: int, top: int, batch_size: int = 256,
                            co_occurrence: CoOccurrence | None = None,
                            first_stage: Callable[[Sequence[tuple[int, int]]], np.ndarray] | None = None
                            ) -> ServedWindows:
    """The served windows (retrieval's top `top`, the head's logits, the co-occurrence prior) of `examples`, e.g.
    the validation requests choose_retrieval_weight and choose_served_weights pick the served blend on.
    first_stage(requests (user, position) [B]) -> [B, I + 1]: another first stage's scores of the catalogue (BM25 for
    each request's query), whose top `top` the rescorer reorders: RescoredWindows."""
    ordered = by_history_length(examples, max_history)  # _encoded_batches' order
    priors = _co_occurrence_priors(co_occurrence, seqs, examples, max_history, batch_size)
    batches = _encoded_batches(model, seqs, examples, max_history, batch_size)
    return ServedWindows.concatenate([
        served_windows(retrieval, batch["target"].numpy(), excluded, top, rank_logits, next(priors),
                       None if first_stage is None else first_stage(ordered[start:start + batch_size]))
        for start, (batch, _, retrieval, excluded, rank_logits) in zip(range(0, len(ordered), batch_size), batches)])


def _co_occurrence_priors(co_occurrence: CoOccurrence | None, seqs: Sequence[UserSequence],
                          examples: Sequence[tuple[int, int]], max_history: int, batch_size: int):
    """Per batch of _encoded_batches (same order and size): prior(candidates [B, M]) -> [B, M], or None without
    co_occurrence."""
    ordered = by_history_length(examples, max_history)
    for start in range(0, len(ordered), batch_size):
        if co_occurrence is None:
            yield None
            continue
        contexts = co_occurrence.request_contexts(seqs, ordered[start:start + batch_size], max_history)

        def prior(candidates: np.ndarray, contexts=contexts) -> np.ndarray:
            return np.stack([co_occurrence.prior(c, row) for c, row in zip(contexts, candidates)])
        yield prior


@torch.no_grad()
def evaluate_new_history_items(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
                               max_history: int, fraction: float, seed: int, batch_size: int = 256) -> dict[str, float]:
    """What an item added after training is worth in a history (models with item text). A random `fraction` of the
    catalogue is taken as added after training; over the requests whose latest max_history events hold at least one
    of those items and whose target is not one, the retrieval metrics with the history read
    - as trained ("newhist_trained_"), the reference;
    - without those events ("newhist_dropped_"), as a runtime that reads item ids only must read it;
    - with those items as their text alone ("newhist_text_"), their id rows left out as --item-id-dropout trains.
    The ranking and its exclusions are the same in all three: every item, trained, ranked by its usual embedding,
    the user's earlier items excluded, new or not (as the plugin's exclude_history excludes them by id)."""
    rng = np.random.default_rng(seed)
    num = model.cfg.num_items
    is_new = np.zeros(num + 1, bool)
    is_new[1 + rng.choice(num, int(round(fraction * num)), replace=False)] = True
    chosen = [(u, t) for u, t in examples
              if not is_new[seqs[u].items[t]] and is_new[seqs[u].items[max(0, t - max_history):t]].any()]
    if not chosen:
        return {"newhist_users": 0.0}
    without, without_examples = [], []
    for u, t in chosen:
        s = seqs[u]
        kept = np.r_[np.flatnonzero(~is_new[s.items[:t]]), t]
        without.append(UserSequence(s.user_id, s.items[kept], s.actions[kept], s.timestamps[kept], s.query_tokens[kept],
                                    s.labels[kept]))
        without_examples.append((len(without) - 1, len(kept) - 1))
    model.eval()
    dev = model.item_tokens.device
    table, item_emb = catalogue(model)                                  # [I + 1, D], [I + 1, E]
    as_text = torch.where(torch.from_numpy(is_new).to(dev)[:, None], model.text_table(), table)

    def ranks(history_seqs: Sequence[UserSequence], history_examples: Sequence[tuple[int, int]], rows: Tensor) -> np.ndarray:
        out = []
        for start in range(0, len(chosen), batch_size):
            batch = make_batch(history_seqs, history_examples[start:start + batch_size], max_history)
            user = encode_batch(model, batch, rows)[0].cpu().numpy()
            out.append(target_ranks(user @ item_emb.T, batch["target"].numpy(),
                                    history_items_of(seqs, chosen[start:start + batch_size])))
        return np.concatenate(out)

    out = {"newhist_users": float(len(chosen))}
    for prefix, history_seqs, history_examples, rows in (("trained", seqs, chosen, table), ("dropped", without, without_examples, table),
                                                         ("text", seqs, chosen, as_text)):
        out |= {f"newhist_{prefix}_{k}": v for k, v in rank_metrics(ranks(history_seqs, history_examples, rows)).items()}
    return out
