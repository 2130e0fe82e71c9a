import math

import numpy as np
import pytest

from genrec_trainer.evaluate import auc, hit_rate, mrr, ndcg, target_ranks


def test_target_ranks_exclude_history_and_padding():
    scores = np.array([[9.0, 0.1, 0.9, 0.5, 0.7],    # column 0 = padding, never ranked
                       [9.0, 0.8, 0.2, 0.9, 0.1]])
    ranks = target_ranks(scores, np.array([3, 1]), [np.array([2]), np.array([3, 1])])
    # row 0: item 2 excluded -> order 4 (0.7), 3 (0.5): rank 1; row 1: 3 excluded, target 1 kept -> rank 0
    assert ranks.tolist() == [1, 0]


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
