"""The training objective's dense search rows: a next event reached through a search trains the
query path (read at RET after the query), and a log without searches trains exactly as before; the pairwise
loss's pairs under the dense ranking loss."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from genrec_trainer.model import TYPE_QUERY, GenRecModel, ModelConfig
from genrec_trainer.objective import Objective, next_queries, tied_successors


def _model() -> GenRecModel:
    torch.manual_seed(0)
    cfg = ModelConfig(num_items=9, vocab_size=5, num_actions=1, max_item_tokens=2, d_model=8, layers=1, heads=1,
                      embedding_dim=8, mlp_hidden=16, item_text=False, readout="last_event", tied_embeddings=True,
                      similarity="dot")
    return GenRecModel(cfg, torch.zeros(10, 2, dtype=torch.long))


def _batch(searched: bool) -> dict[str, torch.Tensor]:
    hq = torch.zeros(2, 4, 3, dtype=torch.long)
    if searched:
        hq[1, 2] = torch.tensor([2, 3, 0])  # row 1's third event (item 6) was found by a search
    return {"history_items": torch.tensor([[0, 3, 5, 2], [1, 4, 6, 7]]),
            "history_actions": torch.zeros(2, 4, dtype=torch.long),
            "history_age_seconds": torch.zeros(2, 4, dtype=torch.long), "history_query_tokens": hq,
            "query_tokens": torch.zeros(2, 3, dtype=torch.long), "target": torch.tensor([8, 9]),
            "label": torch.tensor([-1, -1]), "history_labels": torch.full((2, 4), -1)}


def _objective(dense_search: bool) -> Objective:
    return Objective(num_items=9, temperature=1.0, negatives=0, full_softmax=True, in_batch_negatives=False,
                     dense_loss=True, dense_readout="history", dense_weight=1.0, target_weight=0.0, enhancer=None,
                     rank_negatives=0, rank_loss="bce", pairwise_weight=1.0, dense_rank=False,
                     dense_search=dense_search)


def _query_grad(batch, dense_search: bool) -> tuple[float, float]:
    model = _model().eval()  # no dropout: the two passes must agree
    l_ret, _ = _objective(dense_search)(model, batch, np.random.default_rng(0))
    l_ret.backward()
    return l_ret.item(), model.type_emb.weight.grad[TYPE_QUERY].abs().sum().item()


def test_next_queries_shift_the_history_queries_left_and_end_with_the_targets():
    batch = _batch(searched=True)
    batch["query_tokens"][0] = torch.tensor([4, 0, 0])
    nq = next_queries(batch)
    assert nq[1, 1].tolist() == [2, 3, 0], "event 2's query belongs to the prefix that ends at event 1"
    assert nq[0, 3].tolist() == [4, 0, 0], "the last prefix's next event is the target"
    assert nq[0, 0].tolist() == [0, 0, 0] and int((nq > 0).sum()) == 3


def test_a_searched_next_event_trains_the_query_path_only_with_dense_search():
    loss_on, grad_on = _query_grad(_batch(searched=True), dense_search=True)
    loss_off, grad_off = _query_grad(_batch(searched=True), dense_search=False)
    assert grad_on > 0 and grad_off == 0.0
    assert loss_on != loss_off


def test_without_searches_dense_search_changes_nothing():
    assert _query_grad(_batch(searched=False), True) == _query_grad(_batch(searched=False), False)


def test_with_dense_rank_the_pairwise_loss_pairs_each_users_own_labelled_events():
    """Positive above negative within a row only; unlabelled (-1) and padded events are in no pair."""
    objective = dataclasses.replace(_objective(dense_search=True), rank_loss="bce+pairwise", dense_rank=True)
    dense_logits = torch.tensor([[2.0, 0.5, 1.0, 9.0], [0.0, 3.0, 7.0, -7.0]])
    nxt = torch.tensor([[4, 5, 6, 7], [1, 2, 0, 0]])                # row 1's last two are padding
    nxt_label = torch.tensor([[1, 0, 0, -1], [1, 0, 1, 0]])          # row 0's last event is unlabelled
    sp = lambda x: math.log1p(math.exp(x))                          # softplus
    want = (sp(-1.5) + sp(-1.0) + sp(3.0)) / 3                       # (2.0 > 0.5), (2.0 > 1.0); row 1: (0.0 > 3.0)
    got = objective.pairs(None, None, None, dense_logits, nxt, nxt_label)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_tied_successors_are_the_next_event_and_the_later_ones_at_its_timestamp():
    # one user, events at times 10, 20, 20, 20, 30 then the target at 30: ages from the request (time 30)
    nxt = torch.tensor([[2, 3, 4, 5, 6]])                                 # successors(): event t + 1's item, then the target
    ages = torch.tensor([[20, 10, 10, 10, 0]])
    got = tied_successors(nxt, ages, 3)
    assert got.tolist() == [[[2, 3, 4],    # after the event at 10: the three events at 20 have no order
                             [3, 4, 0],    # after the first at 20: the two left at 20
                             [4, 0, 0],    # after the second: the third only (its successor, at 30, is not tied)
                             [5, 6, 0],    # after the last at 20: the event at 30 and the target, also at 30
                             [6, 0, 0]]]
    assert tied_successors(nxt, ages, 1).tolist() == nxt[..., None].tolist()
    padded = tied_successors(torch.tensor([[0, 0, 7, 8]]), torch.tensor([[0, 0, 5, 5]]), 2)   # left padding
    assert padded.tolist() == [[[0, 0], [0, 0], [7, 0], [8, 0]]]
