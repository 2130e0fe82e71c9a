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
