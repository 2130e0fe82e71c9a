"""Offline evaluation: leave-one-out, full-catalogue ranking by cosine, history excluded."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .data import UserSequence, history_items_of, make_batch
from .model import GenRecModel


def target_ranks(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray]) -> np.ndarray:
    """0-based rank of each target among all items. scores [B, I + 1] (column = item index;
    column 0 = padding, never ranked); excluded[b] = item indices removed (the target is kept).
    Ties are counted pessimistically (an equal score ranks above the target)."""
    scores = scores.astype(np.float64).copy()
    scores[:, 0] = -np.inf
    for b, ex in enumerate(excluded):
        ex = ex[ex != targets[b]]
        scores[b, ex] = -np.inf
    tgt = scores[np.arange(len(targets)), targets]
    return (scores >= tgt[:, None]).sum(1) - 1


def hit_rate(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ranks < k)) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    # One relevant item: DCG = 1 / log2(rank + 2), IDCG = 1.
    return float(np.mean(np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0))) if len(ranks) else 0.0


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / (ranks + 1.0))) if len(ranks) else 0.0


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


@torch.no_grad()
def evaluate(model: GenRecModel, seqs: Sequence[UserSequence], examples: Sequence[tuple[int, int]],
             max_history: int, batch_size: int = 512) -> dict[str, float]:
    model.eval()
    table = model.item_table()                                          # [I + 1, D]
    item_emb = model.item_embeddings(torch.arange(model.cfg.num_items + 1), table).numpy()  # [I + 1, E]
    ranks, rank_scores, labels = [], [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        batch = make_batch(seqs, chunk, max_history)
        user, ck, cv, cm = model.encode(batch["history_items"], batch["history_actions"],
                                        batch["history_age_seconds"], batch["history_query_tokens"],
                                        batch["query_tokens"], item_table=table)
        target = batch["target"].numpy()
        ranks.append(target_ranks(user.numpy() @ item_emb.T, target, history_items_of(seqs, chunk)))
        rank_scores.append(model.score(ck, cv, cm, batch["target"][:, None], item_table=table)[:, 0].numpy())
        labels.append(batch["label"].numpy())
    r = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
    s, lab = (np.concatenate(rank_scores), np.concatenate(labels)) if ranks else (np.zeros(0), np.zeros(0))
    return {"hr@10": hit_rate(r, 10), "ndcg@10": ndcg(r, 10), "hr@50": hit_rate(r, 50), "ndcg@50": ndcg(r, 50),
            "mrr": mrr(r), "auc": auc(s, lab), "users": float(len(r))}
