import math

import numpy as np
import pytest
import torch

from genrec_trainer import synthetic
from genrec_trainer.cooccurrence import CoOccurrence
from genrec_trainer.data import build_vocab, group_by_user, item_index, item_token_table
from genrec_trainer.evaluate import (RescoredWindows, ServedWindows, auc, choose_retrieval_weight, evaluate, evaluate_new_history_items, hit_rate,
                                    liked_metrics, make_split, mrr, ndcg, reranked_target_ranks, served_windows, target_ranks)
from genrec_trainer.model import GenRecModel, ModelConfig
from genrec_trainer.train import last_training_positions


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


def test_the_served_blend_orders_by_log_probability_plus_weighted_similarity():
    # one request, items 1..3 retrieved with similarity .9, .5, .1; the head prefers item 3, then 2, then 1
    scores = np.array([[9.0, 0.9, 0.5, 0.1]])
    logits = {1: -2.0, 2: 0.0, 3: 2.0}
    windows = served_windows(scores, np.array([1]), [np.array([], np.int64)], 3,
                             lambda w: np.vectorize(logits.get)(w).astype(np.float64))
    log_p = {i: -math.log1p(math.exp(-x)) for i, x in logits.items()}   # log sigmoid: -2.127, -0.693, -0.127
    assert windows.target_ranks(0.0).tolist() == [2]                   # the head alone: target 1 last
    # weight 5: keys 1: -2.127 + 4.5 = 2.373, 2: -0.693 + 2.5 = 1.807, 3: -0.127 + 0.5 = 0.373
    assert log_p[1] + 5 * 0.9 > log_p[2] + 5 * 0.5 > log_p[3] + 5 * 0.1
    assert windows.target_ranks(5.0).tolist() == [0]
    # weight 3: 1: 0.573, 2: 0.807 -> target 1 second
    assert windows.target_ranks(3.0).tolist() == [1]
    # the same through the one-call form
    assert reranked_target_ranks(scores, np.array([1]), [np.array([], np.int64)], 3,
                                 lambda w: np.vectorize(logits.get)(w).astype(np.float64), retrieval_weight=5.0).tolist() == [0]


def test_a_positive_weight_keeps_padding_and_excluded_items_below_every_real_one():
    scores = np.array([[9.0, 0.9, 0.3, 1.0]])                          # item 3 excluded (history)
    windows = served_windows(scores, np.array([1]), [np.array([3])], 4, lambda w: np.where(w == 1, -50.0, 50.0))
    # weight 0: item 2 (log p ~ 0) above the target (-50); weight 100: target 40 above item 2's 30; padding and
    # the excluded item (logit 50, similarity -inf) never above either
    assert windows.target_ranks(0.0).tolist() == [1] and windows.target_ranks(100.0).tolist() == [0]


def test_the_rescorer_reorders_the_first_stages_window_by_the_served_score_plus_the_first_stage():
    # items 1-4; BM25 (the first stage) picks the window {2, 3}, the model's similarity prefers 3; both logits 0 (P .5).
    # Request a's target is item 3 (BM25's second); request b's is item 4, outside the window (BM25's fourth).
    retrieval = np.array([[9.0, 0.9, 0.1, 0.5, 0.2]] * 2)
    bm25 = np.array([[0.0, 1.0, 5.0, 3.0, 0.0]] * 2)
    none = [np.array([], np.int64)] * 2
    windows = served_windows(retrieval, np.array([3, 4]), none, 2, lambda w: np.zeros(w.shape), first_stage=bm25)
    assert isinstance(windows, RescoredWindows)
    assert sorted(windows.first_stage[0].tolist()) == [3.0, 5.0]
    assert sorted(windows.similarity[0].tolist()) == [0.1, 0.5]                         # the model's, not BM25's
    # the head, as the rescorer served it: 1 x BM25 + 1 x .5 keeps BM25's order; the probability alone ties (pessimistic)
    assert windows.rescorer_ranks(1.0, 1.0).tolist() == [1, 3] and windows.rescorer_ranks(0.0, 1.0).tolist() == [1, 3]
    # served blend, w 10: x = log .5 + 10 x similarity -> 1.307 (item 2) and 5.307 (item 3): item 3 first, with BM25 too
    assert windows.rescorer_ranks(0.0, 1.0, 10.0).tolist() == [0, 3]
    assert windows.rescorer_ranks(1.0, 1.0, 10.0).tolist() == [0, 3]
    # w 1: x = -.593 and -.193 -> 1 / (1 - x) = .628 and .838: alone item 3 first; plus BM25 (5 against 3) second
    assert windows.rescorer_ranks(0.0, 1.0, 1.0).tolist() == [0, 3]
    assert windows.rescorer_ranks(1.0, 1.0, 1.0).tolist() == [1, 3]
    # the inherited served order reads the same window: log P + w x similarity
    assert windows.target_ranks(10.0).tolist() == [0, 3]


def test_choose_retrieval_weight_takes_the_best_validation_ndcg_and_the_smaller_weight_on_ties():
    # request a: the head is right (its favourite, retrieved third, is the target); request b: retrieval is
    # right (the target is retrieved first and the head's least favourite)
    windows = ServedWindows(similarity=np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]]),
                            log_p=np.log(np.array([[0.1, 0.2, 0.9], [0.1, 0.5, 0.6]])),
                            target_at=np.array([2, 0]), retrieval_rank=np.array([2, 0]), prior=np.zeros((2, 3)))
    # weight 10 -> keys a: 6.70, 6.39, 6.90 (target first), b: 6.70, 7.31, 6.49 (target second)
    assert [windows.target_ranks(w).tolist() for w in (0.0, 1.0, 10.0, 100.0)] == [[0, 2], [0, 2], [0, 1], [2, 0]]
    weight, tried = choose_retrieval_weight(windows, weights=(0.0, 1.0, 10.0, 100.0))
    assert tried == {w: ndcg(windows.target_ranks(w), 10) for w in (0.0, 1.0, 10.0, 100.0)}
    assert weight == 10.0
    # every weight ranks both targets first: the smallest wins
    agreed = ServedWindows(windows.similarity, np.log(np.array([[0.9, 0.2, 0.1], [0.9, 0.5, 0.1]])),
                           np.array([0, 0]), np.array([0, 0]), windows.prior)
    assert choose_retrieval_weight(agreed, weights=(0.0, 1.0, 10.0))[0] == 0.0


def test_liked_metrics_count_the_positively_labelled_requests_only():
    ranks, labels = np.array([0, 20, 1, 3]), np.array([1, 1, 0, -1])
    # liked: requests 0 and 1 -> HR@10 1/2, NDCG@10 (1 + 0) / 2
    assert liked_metrics("blend50_", ranks, labels) == {"blend50_liked_hr@10": 0.5, "blend50_liked_ndcg@10": 0.5}
    assert liked_metrics("", ranks, np.array([1, 1, -1, -1])) == {}     # no negative label: unlabelled data


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


def _untrained_model_with_item_text():
    """A small synthetic log, its leave-one-out split and an untrained model with item text."""
    items, events = synthetic.generate(seed=3, num_users=30, num_items=25, min_len=5, max_len=9)
    vocab, index = build_vocab(items, events), item_index(items)
    seqs = group_by_user(events, index, ["click", "purchase"], vocab, 8)
    split, _ = make_split(seqs, "loo")
    torch.manual_seed(0)
    model = GenRecModel(ModelConfig(num_items=len(items), vocab_size=len(vocab), num_actions=2, d_model=16, layers=1,
                                    heads=1, embedding_dim=16, mlp_hidden=32, max_item_tokens=8),
                        torch.from_numpy(item_token_table(items, vocab, 8)))
    return seqs, split, model


def test_cold_metrics_rank_each_held_out_item_by_its_text_alone():
    # a model whose items have no learned id rows ranks every item by its text already: "cold" changes nothing
    seqs, split, model = _untrained_model_with_item_text()
    served = dict(rerank_top=10, retrieval_weight=5.0)  # the served order too: the new item ranked by its text-only row
    warm = evaluate(model, seqs, split.test, 10, cold_items=True, **served)
    assert warm["cold_mrr"] != warm["mrr"], "with id rows, the text alone ranks the held-out items elsewhere"
    assert warm["cold_blend10_mrr"] != warm["blend10_mrr"]
    with torch.no_grad():
        model.item_id_emb.weight.zero_()
    text_only = evaluate(model, seqs, split.test, 10, cold_items=True, **served)
    metrics = ("hr@10", "ndcg@10", "mrr")
    assert {k: text_only["cold_" + k] for k in metrics} == {k: text_only[k] for k in metrics}
    assert {k: text_only["cold_blend10_" + k] for k in metrics} == {k: text_only["blend10_" + k] for k in metrics}


def test_the_served_new_item_has_no_co_occurrence_counts_while_the_others_keep_theirs():
    seqs, split, model = _untrained_model_with_item_text()
    with torch.no_grad():
        model.item_id_emb.weight.zero_()   # text only: a held-out item ranks as itself whether new or trained
    table = CoOccurrence.count(seqs, last_training_positions(split.train), model.cfg.num_items, neighbours=25, span=3)
    served = dict(rerank_top=10, retrieval_weight=5.0, cold_items=True, co_occurrence=table)
    with_term = evaluate(model, seqs, split.test, 10, co_occurrence_weight=50.0, **served)
    without = evaluate(model, seqs, split.test, 10, co_occurrence_weight=0.0, **served)
    assert with_term["cold_blend10_mrr"] != without["cold_blend10_mrr"], "the other hits' counts move the new item"
    # the one difference from the trained item's served order is the target's own counts, now 0: it can only fall
    assert with_term["cold_blend10_mrr"] < with_term["blend10_mrr"]
    assert without["cold_blend10_mrr"] == without["blend10_mrr"]


def test_newhist_metrics_compare_the_history_as_trained_without_the_new_items_and_with_their_text():
    seqs, split, model = _untrained_model_with_item_text()
    out = evaluate_new_history_items(model, seqs, split.test, 10, fraction=0.3, seed=1)
    assert 0 < out["newhist_users"] <= len(split.test)
    assert out["newhist_text_mrr"] != out["newhist_trained_mrr"] != out["newhist_dropped_mrr"]
    with torch.no_grad():
        model.item_id_emb.weight.zero_()  # every item is its text already: reading the new ones by it changes nothing
    same = evaluate_new_history_items(model, seqs, split.test, 10, fraction=0.3, seed=1)
    assert {k: v for k, v in same.items() if k.startswith("newhist_text_")} == \
        {k.replace("trained", "text"): v for k, v in same.items() if k.startswith("newhist_trained_")}
