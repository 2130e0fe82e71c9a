import math

import pytest
import torch

from genrec_trainer.losses import ranking_bce_loss, sampled_softmax_loss


def test_infonce_masks_accidental_hits():
    t = 0.05
    user = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    positives = torch.tensor([5, 6])
    pos_emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    negatives = torch.tensor([5, 7])               # 5 is row 0's positive: an accidental hit for row 0
    neg_emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = sampled_softmax_loss(user, positives, pos_emb, negatives, neg_emb, temperature=t)
    e = math.exp(1 / t)
    # row 0: own 5 -> e, in-batch 6 -> 1, sampled 5 masked, sampled 7 -> 1
    row0 = -math.log(e / (e + 1 + 1))
    # row 1: in-batch 5 -> 1, own 6 -> e, sampled 5 -> 1 (not row 1's item), sampled 7 -> e
    row1 = -math.log(e / (1 + e + 1 + e))
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    unmasked0 = -math.log(e / (e + 1 + e + 1))
    assert abs(loss.item() - (unmasked0 + row1) / 2) > 0.3  # the mask matters on this case


def test_infonce_without_in_batch_negatives_uses_the_uniform_samples_only():
    t = 0.05
    user = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = sampled_softmax_loss(user, torch.tensor([5, 6]), emb, torch.tensor([5, 7]), emb, temperature=t, in_batch=False)
    e = math.exp(1 / t)
    row0 = -math.log(e / (e + 1))          # own 5; sampled 5 masked (accidental hit), sampled 7 -> 1
    row1 = -math.log(e / (e + 1 + e))      # own 6; sampled 5 -> 1, sampled 7 -> e; row 0's 5 is no negative
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_infonce_duplicate_positive_in_batch_is_masked():
    user = torch.eye(2)
    emb = torch.eye(2)
    same = sampled_softmax_loss(user, torch.tensor([3, 3]), emb, torch.tensor([9]), torch.zeros(1, 2), 1.0)
    # each row: own column e^1; the other row's column is the same item -> masked; sampled e^0
    assert same.item() == pytest.approx(-math.log(math.e / (math.e + 1)), rel=1e-6)


def test_bce_and_weights():
    logits = torch.tensor([[0.0, 0.0, 100.0]])
    labels = torch.tensor([[1, 0, 0]])
    assert ranking_bce_loss(logits[:, :2], labels[:, :2]).item() == pytest.approx(math.log(2))
    w = torch.tensor([[1, 1, 0]])  # the confidently wrong third entry is ignored
    assert ranking_bce_loss(logits, labels, w).item() == pytest.approx(math.log(2))
    assert ranking_bce_loss(torch.tensor([[2.0]]), torch.tensor([[1]])).item() == pytest.approx(
        math.log(1 + math.exp(-2)))


# ---- pairwise logistic, UniGRF enhancer and adaptive weighter: hand-computable cases ----------
from genrec_trainer.losses import (AdaptiveLossWeighter, enhanced_retrieval_loss, enhancer_select,  # noqa: E402
                                   pairwise_logistic_loss)


def test_pairwise_logistic_by_hand():
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    labels = torch.tensor([[1, 0, 0], [0, 0, 0]])      # row 1 has no positive: no pairs
    sp = lambda x: math.log1p(math.exp(-x))             # log(1 + exp(-(s_i - s_j)))
    want = (sp(2.0) + sp(1.0)) / 2
    assert pairwise_logistic_loss(logits, labels).item() == pytest.approx(want, rel=1e-6)
    # a masked negative drops its pair; no pairs at all -> 0
    w = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert pairwise_logistic_loss(logits, labels, w).item() == pytest.approx(sp(2.0), rel=1e-6)
    assert pairwise_logistic_loss(logits, torch.zeros_like(labels)).item() == 0.0


def test_enhancer_select_hard_negatives_and_favourites():
    prob = torch.tensor([[0.95, 0.10, 0.50, 0.05], [0.20, 0.30, 0.99, 0.40]])
    valid = torch.tensor([[True, True, True, False], [True, True, True, True]])
    hard, fav = enhancer_select(prob, valid, hard_negatives=2, favourite_threshold=0.9)
    assert fav.tolist() == [[True, False, False, False], [False, False, True, False]]
    # lowest ranking prob among valid non-favourites; column 3 of row 0 is invalid
    assert hard.tolist() == [[False, True, True, False], [True, True, False, False]]



def test_favourites_join_a_full_softmax_as_positives_by_hand():
    from genrec_trainer.losses import favourites_full_softmax_loss
    user = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    catalogue = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])   # items 1, 2, 3
    candidates = torch.tensor([[2, 3], [1, 3]])
    fav = torch.tensor([[False, True], [True, True]])
    z0 = math.exp(1.0) + math.exp(0.0) + math.exp(0.5)              # row 0 logits 1, 0, 0.5
    z1 = math.exp(0.0) + math.exp(2.0) + math.exp(1.0)              # row 1 logits 0, 2, 1
    want = (-math.log(math.exp(0.5) / z0) - math.log(math.exp(0.0) / z1) - math.log(math.exp(1.0) / z1)) / 2
    got = favourites_full_softmax_loss(user, catalogue, candidates, fav, temperature=1.0)
    assert got.item() == pytest.approx(want, rel=1e-6)
    assert favourites_full_softmax_loss(user, catalogue, candidates, fav, 1.0, per=6).item() == pytest.approx(want / 3)
    assert favourites_full_softmax_loss(user, catalogue, candidates, torch.zeros_like(fav)).item() == 0.0
    # item 1 seen by row 0 (0 = padding): out of that row's softmax only
    seen = torch.tensor([[1, 0], [0, 0]])
    z0_unseen = math.exp(0.0) + math.exp(0.5)
    want_seen = (-math.log(math.exp(0.5) / z0_unseen) - math.log(math.exp(0.0) / z1) - math.log(math.exp(1.0) / z1)) / 2
    got_seen = favourites_full_softmax_loss(user, catalogue, candidates, fav, 1.0, excluded=seen)
    assert got_seen.item() == pytest.approx(want_seen, rel=1e-6)
    # a seen candidate that is no favourite (item 2 of row 0) stays out of the sum: finite, not nan
    both_seen = torch.tensor([[1, 2], [0, 0]])
    want_both = (0.0 - math.log(math.exp(0.0) / z1) - math.log(math.exp(1.0) / z1)) / 2
    got_both = favourites_full_softmax_loss(user, catalogue, candidates, fav, 1.0, excluded=both_seen)
    assert got_both.item() == pytest.approx(want_both, rel=1e-6)


def test_enhanced_retrieval_loss_by_hand():
    t = 1.0
    user = torch.tensor([[1.0, 0.0]])
    pos, pos_emb = torch.tensor([3]), torch.tensor([[1.0, 0.0]])
    neg, neg_emb = torch.tensor([4]), torch.tensor([[0.0, 1.0]])
    extra = torch.tensor([[[0.6, 0.8], [0.8, 0.6]]])   # logits 0.6 (hard negative), 0.8 (favourite)
    hard, fav = torch.tensor([[True, False]]), torch.tensor([[False, True]])
    z = math.exp(1.0) + math.exp(0.0) + math.exp(0.6)
    want = -math.log(math.exp(1.0) / z) + 0.5 * -math.log(math.exp(0.8) / (z + math.exp(0.8)))
    got = enhanced_retrieval_loss(user, pos, pos_emb, neg, neg_emb, extra, hard, fav, temperature=t,
                                  favourite_weight=0.5)
    assert got.item() == pytest.approx(want, rel=1e-6)
    # no extras selected -> exactly the plain sampled softmax
    none = torch.zeros_like(hard)
    plain = sampled_softmax_loss(user, pos, pos_emb, neg, neg_emb, temperature=t)
    assert enhanced_retrieval_loss(user, pos, pos_emb, neg, neg_emb, extra, none, none, t).item() == \
        pytest.approx(plain.item(), rel=1e-6)


def test_adaptive_loss_weighter_by_hand():
    w = AdaptiveLossWeighter(2, temperature=0.5)
    assert w.weights().tolist() == [1.0, 1.0]
    w.update(torch.tensor([2.0, 1.0]))
    assert w.weights().tolist() == [1.0, 1.0]            # one observation: no ratio yet
    w.update(torch.tensor([1.0, 0.9]))                   # ratios 0.5 and 0.9
    e0, e1 = math.exp(0.5 / 0.5), math.exp(0.9 / 0.5)
    got = w.weights()
    assert got[0].item() == pytest.approx(2 * e0 / (e0 + e1), rel=1e-6)
    assert got[1].item() == pytest.approx(2 * e1 / (e0 + e1), rel=1e-6)
    assert got.sum().item() == pytest.approx(2.0)
    low, mean, high = w.take_range()                     # the three weights handed out above: [1, 1], [1, 1], got
    assert low.tolist() == pytest.approx([got[0].item(), 1.0]) and high.tolist() == pytest.approx([1.0, got[1].item()])
    assert mean.tolist() == pytest.approx([(2 + got[0].item()) / 3, (2 + got[1].item()) / 3])
    assert [t.tolist() for t in w.take_range()] == [[1.0, 1.0]] * 3, "taken: none handed out since"


def test_dense_next_item_loss_by_hand():
    from genrec_trainer.losses import dense_next_item_loss
    t = 1.0
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])           # [1, 2, 2]
    nxt = torch.tensor([[3, 0]])                                 # second position: no target
    nxt_emb = torch.tensor([[[0.6, 0.8], [1.0, 0.0]]])
    negs, neg_emb = torch.tensor([3, 4]), torch.tensor([[0.6, 0.8], [0.0, 1.0]])  # 3 = accidental hit
    want = -math.log(math.exp(0.6) / (math.exp(0.6) + math.exp(0.0)))
    got = dense_next_item_loss(states, nxt, nxt_emb, negs, neg_emb, temperature=t)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_dense_losses_over_a_fixed_count_weigh_each_target_alike_whatever_the_batch():
    """per = a fixed count: the batch's summed target losses over it, so one target's share does not
    depend on how many others its batch holds (the mean gives a lone target the weight of three)."""
    from genrec_trainer.losses import dense_next_item_loss, full_softmax_loss
    torch.manual_seed(1)
    catalogue = torch.nn.functional.normalize(torch.randn(5, 4), dim=-1)
    states = torch.nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    three, one = torch.tensor([[1, 2, 0], [4, 0, 0]]), torch.tensor([[1, 0, 0], [0, 0, 0]])
    every = torch.arange(1, 6)
    for loss in (lambda nxt, **kw: full_softmax_loss(states, nxt, catalogue, 0.5, **kw),
                 lambda nxt, **kw: dense_next_item_loss(states, nxt, catalogue[(nxt - 1).clamp(min=0)], every,
                                                        catalogue, 0.5, **kw)):
        assert loss(three, per=3.0).item() == pytest.approx(loss(three).item(), rel=1e-6)   # per = own count: the mean
        assert loss(three, per=6.0).item() == pytest.approx(loss(three).item() / 2, rel=1e-6)
        assert loss(one, per=6.0).item() == pytest.approx(loss(one).item() / 6, rel=1e-6)


def test_ranking_bce_over_a_fixed_count_sums_the_kept_entries():
    logits = torch.tensor([[0.0, 0.0, 100.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([[1, 0, 0], [0, 1, 0]])
    w = torch.tensor([[1, 1, 0], [1, 0, 0]])  # three kept entries, each log(2); the wrong 100 is masked
    assert ranking_bce_loss(logits, labels, w, per=3.0).item() == pytest.approx(math.log(2))  # own count: the mean
    assert ranking_bce_loss(logits, labels, w, per=12.0).item() == pytest.approx(3 * math.log(2) / 12)
    assert ranking_bce_loss(logits[:, :2], labels[:, :2], per=8.0).item() == pytest.approx(4 * math.log(2) / 8)


def test_full_softmax_loss_by_hand_and_equal_to_dense_loss_with_every_item_negative():
    from genrec_trainer.losses import dense_next_item_loss, full_softmax_loss
    catalogue = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])      # items 1, 2, 3
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])                    # [1, 2, 2]
    nxt = torch.tensor([[2, 0]])                                          # second position: no target
    want = -math.log(math.exp(0.6 / 0.5) / (math.exp(1.0 / 0.5) + math.exp(0.6 / 0.5) + math.exp(0.0)))
    assert full_softmax_loss(states, nxt, catalogue, temperature=0.5).item() == pytest.approx(want, rel=1e-6)
    torch.manual_seed(0)
    states = torch.nn.functional.normalize(torch.randn(3, 4, 2), dim=-1)
    nxt = torch.tensor([[1, 3, 0, 2], [2, 2, 1, 0], [0, 0, 0, 3]])
    every = torch.arange(1, 4)
    dense = dense_next_item_loss(states, nxt, catalogue[(nxt - 1).clamp(min=0)], every, catalogue, temperature=0.05)
    torch.testing.assert_close(full_softmax_loss(states, nxt, catalogue, temperature=0.05), dense)


def test_seen_items_leave_the_full_softmax_but_a_repeated_target_stays():
    from genrec_trainer.losses import full_softmax_loss, seen_before
    catalogue = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])      # items 1, 2, 3
    history = torch.tensor([[0, 1, 3]])                                   # left-padded: events 1 then 3
    seen = seen_before(history)
    assert seen.tolist() == [[[0, 0, 0], [0, 1, 0], [0, 1, 3]]]           # row t: what was seen up to event t
    states = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    e = math.exp
    # after event 1 (item 1 seen) the target 3 competes with item 2 only
    want = -math.log(e(0.0) / (e(0.6) + e(0.0)))
    got = full_softmax_loss(states, torch.tensor([[0, 3, 0]]), catalogue, temperature=1.0, excluded=seen)
    assert got.item() == pytest.approx(want, rel=1e-6)
    # after event 3 the target is 3 again (a repeat): it keeps its logit, item 1 is left out
    want = -math.log(e(1.0) / (e(0.8) + e(1.0)))
    got = full_softmax_loss(states, torch.tensor([[0, 0, 3]]), catalogue, temperature=1.0, excluded=seen)
    assert got.item() == pytest.approx(want, rel=1e-6)
    without = full_softmax_loss(states, torch.tensor([[0, 0, 3]]), catalogue, temperature=1.0)
    assert without.item() > got.item()


def test_tied_positives_share_their_row_and_leave_each_other_out_of_their_softmax():
    from genrec_trainer.losses import full_softmax_loss, tied_full_softmax_loss
    catalogue = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])      # items 1, 2, 3
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])        # [1, 3, 2]; the last row has no target
    positives = torch.tensor([[[2, 3], [1, 0], [0, 0]]])                  # row 0: 2 and 3 tied; row 1: 1 alone
    e = math.exp
    row0 = (-math.log(e(0.6) / (e(1.0) + e(0.6))) - math.log(e(0.0) / (e(1.0) + e(0.0)))) / 2   # each without the other
    row1 = -math.log(e(0.0) / (e(0.0) + e(0.8) + e(1.0)))
    got = tied_full_softmax_loss(states, positives, catalogue, temperature=1.0)
    assert got.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)      # two rows with targets, each weighing 1
    assert tied_full_softmax_loss(states, positives, catalogue, 1.0, per=4).item() == pytest.approx((row0 + row1) / 4)
    # item 1 seen before row 0: out of both of its softmaxes as well
    seen = torch.tensor([[[1], [0], [0]]])
    row0_seen = (-math.log(e(0.6) / e(0.6)) - math.log(e(0.0) / e(0.0))) / 2
    got = tied_full_softmax_loss(states, positives, catalogue, 1.0, excluded=seen)
    assert got.item() == pytest.approx((row0_seen + row1) / 2, abs=1e-6)
    # one column: the plain full softmax
    torch.testing.assert_close(tied_full_softmax_loss(states, positives[..., :1], catalogue, 1.0),
                               full_softmax_loss(states, positives[..., 0], catalogue, 1.0))


def test_pairwise_loss_across_a_batch_of_single_labelled_events():
    """rank_negatives 0: one labelled candidate per row; the transposed call pairs rows' events."""
    from genrec_trainer.losses import pairwise_logistic_loss
    logits = torch.tensor([[2.0], [0.5], [1.0]])                  # [B, 1]
    labels = torch.tensor([[1], [0], [0]])
    want = (math.log1p(math.exp(-1.5)) + math.log1p(math.exp(-1.0))) / 2
    assert pairwise_logistic_loss(logits.T, labels.T).item() == pytest.approx(want, rel=1e-6)
    assert pairwise_logistic_loss(logits, labels).item() == 0.0    # row-wise: no pair within a row


@pytest.mark.parametrize("block_bytes", [4 * 7 * 8, 4 * 7 * 16, 1 << 20])  # blocks of 8, 8, 5 rows; 16, 5; one block
def test_the_blockwise_catalogue_cross_entropy_has_cross_entropys_value_and_gradients(monkeypatch, block_bytes):
    from genrec_trainer.losses import CatalogueCrossEntropy
    monkeypatch.setattr(CatalogueCrossEntropy, "CPU_BLOCK_BYTES", block_bytes)
    torch.manual_seed(3)
    states = (torch.randn(21, 4, dtype=torch.float64) * 2).requires_grad_()
    catalogue = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 7, (21,))
    weights = torch.rand(21, dtype=torch.float64)       # an uneven upstream gradient per row
    got = CatalogueCrossEntropy.apply(states, catalogue, targets)
    want = torch.nn.functional.cross_entropy(states @ catalogue.T, targets, reduction="none")
    torch.testing.assert_close(got, want)
    got_grads = torch.autograd.grad((got * weights).sum(), (states, catalogue))
    want_grads = torch.autograd.grad((want * weights).sum(), (states, catalogue))
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w)
    assert torch.autograd.gradcheck(CatalogueCrossEntropy.apply, (states, catalogue, targets))
    # left-out columns (two per row; one may be the row's own target, which stays) in every block alike
    excluded = torch.randint(0, 7, (21, 2))
    logits = (states @ catalogue.T).detach()
    mask = torch.zeros(21, 7, dtype=torch.bool).scatter_(1, excluded, True)
    mask[torch.arange(21), targets] = False
    got = CatalogueCrossEntropy.apply(states, catalogue, targets, excluded)
    want = torch.nn.functional.cross_entropy((states @ catalogue.T).masked_fill(mask, float("-inf")), targets,
                                             reduction="none")
    torch.testing.assert_close(got, want)
    assert (got.detach() < torch.nn.functional.cross_entropy(logits, targets, reduction="none")).any()
    got_grads = torch.autograd.grad((got * weights).sum(), (states, catalogue))
    want_grads = torch.autograd.grad((want * weights).sum(), (states, catalogue))
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w)
