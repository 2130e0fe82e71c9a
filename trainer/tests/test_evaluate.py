import math

import numpy as np
import pytest

from genrec_trainer.evaluate import auc, hit_rate, mrr, ndcg, reranked_target_ranks, target_ranks


def test_target_ranks_exclude_history_and_padding():
    scores = np.array([[9.0, 0.1, 0.9, 0.5, 0.7],    # column 0 = padding, never ranked
                       [9.0, 0.8, 0.2, 0.9, 0.1]])
    ranks = target_ranks(scores, np.array([3, 1]), [np.array([2]), np.array([3, 1])])
    # row 0: item 2 excluded -> order 4 (0.7), 3 (0.5): rank 1; row 1: 3 excluded, target 1 kept -> rank 0
    assert ranks.tolist() == [1, 0]


def test_reranked_ranks_reorder_the_retrieval_window_only():
    # retrieval order (item 0 = padding, item 5 excluded as history): row 0: 1, 2, 3, 4; row 1: 4, 3, 2, 1
    scores = np.array([[9.0, 0.9, 0.8, 0.7, 0.6, 1.0],
                       [9.0, 0.1, 0.2, 0.3, 0.4, 1.0]])
    head = {1: 0.0, 2: 1.0, 3: 5.0, 4: 9.0}                                   # the ranking head's logit per item
    calls = []

    def rank_logits(window):
        calls.append(window.shape)
        return np.vectorize(head.get)(window).astype(np.float64)

    excluded = [np.array([5]), np.array([5])]
    # row 0: target 3 in the window {1, 2, 3} -> by the head 3, 2, 1: rank 0 (retrieval rank 2)
    # row 1: target 1 outside the window {4, 3, 2}: keeps its retrieval rank 3
    ranks = reranked_target_ranks(scores, np.array([3, 1]), excluded, 3, rank_logits)
    assert ranks.tolist() == [0, 3] and calls == [(2, 3)]
    # row 0 with target 1: the head puts it last in its window of 3; row 1 with target 4: first
    assert reranked_target_ranks(scores, np.array([1, 4]), excluded, 3, rank_logits).tolist() == [2, 0]
    # the window holds the rankable items first, never padding or excluded ones while there are enough
    reranked_target_ranks(scores, np.array([3, 1]), excluded, 4, lambda w: (calls.append(set(w.ravel().tolist())), np.zeros(w.shape))[1])
    assert calls[-1] == {1, 2, 3, 4}
    # a window larger than the rankable items: padding and excluded items in it rank below every real one
    wide = reranked_target_ranks(scores, np.array([1, 1]), excluded, 6, lambda w: np.where(w == 1, 0.0, 100.0))
    assert wide.tolist() == [3, 3]


def test_metrics_on_known_ranks():
    ranks = np.array([0, 1, 9, 10, 99])
    assert hit_rate(ranks, 10) == pytest.approx(3 / 5)
    assert ndcg(ranks, 10) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(11)) / 5)
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 1 / 10 + 1 / 11 + 1 / 100) / 5)


def test_auc():
    assert auc([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0]) == pytest.approx(0.75)
    assert auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    assert auc([1, 2, 3], [0, 1, 1]) == pytest.approx(1.0)
    assert math.isnan(auc([1, 2], [1, 1]))
