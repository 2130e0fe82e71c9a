"""The reference SASRec+SS baseline: causal, padding-blind, its loss on a hand case, and it learns."""
import math

import numpy as np
import pytest
import torch

from genrec_trainer.data import UserSequence, leave_one_out
from genrec_trainer.reference_sasrec import (ReferenceSASRec, evaluate_reference, sampled_softmax_all_positions,
                                             train_reference, training_sequences)


def _user(items) -> UserSequence:
    n = len(items)
    return UserSequence("u", np.asarray(items, np.int64), np.ones(n, np.int64), np.zeros(n, np.int64),
                        np.zeros((n, 1), np.int64), np.full(n, -1, np.int64))


def test_a_state_reads_only_earlier_items_and_ignores_left_padding():
    torch.manual_seed(0)
    model = ReferenceSASRec(num_items=30, d_model=16, layers=2, heads=2, max_len=10).eval()
    seq = torch.tensor([[0, 0, 5, 7, 9, 11]])
    changed_later = torch.tensor([[0, 0, 5, 7, 20, 21]])
    more_padding = torch.tensor([[0, 0, 0, 0, 5, 7, 9, 11]])
    with torch.no_grad():
        a, b, c = model(seq), model(changed_later), model(more_padding)
    torch.testing.assert_close(a[:, :4], b[:, :4])            # states up to item 7 never saw 9 or 11
    assert not torch.allclose(a[:, 4:], b[:, 4:])
    torch.testing.assert_close(a[:, 2:], c[:, 4:])            # right-aligned positions: padding changes nothing


def test_sampled_softmax_at_every_position_by_hand():
    states = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])          # [B 1, N 2, D 2]
    weights = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # items 0 (pad) .. 3
    targets = torch.tensor([[1, 0]])                           # only position 0 has a target (item 1)
    negatives = torch.tensor([2, 3, 1])                         # item 1 as a negative of item 1 is masked
    # position 0: logits target 1, negatives 0 and 1 -> -log(e / (e + 1 + e))
    expected = -math.log(math.e / (2 * math.e + 1))
    assert abs(sampled_softmax_all_positions(states, targets, weights, negatives).item() - expected) < 1e-6


def test_full_catalogue_softmax_at_every_position_by_hand():
    states = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    weights = torch.tensor([[5.0, 5.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # row 0 (padding) is never a class
    targets = torch.tensor([[1, 3]])
    # position 0: logits (items 1, 2, 3) = (1, 0, 1), target 1; position 1: (0, 2, 2), target 3
    expected = (-math.log(math.e / (2 * math.e + 1)) - math.log(math.e ** 2 / (1 + 2 * math.e ** 2))) / 2
    assert abs(sampled_softmax_all_positions(states, targets, weights, None).item() - expected) < 1e-6


def test_training_sequences_shift_targets_by_one_and_stop_before_validation():
    seqs = [_user([1, 2, 3, 4, 5, 6])]                        # validation = 5, test = 6
    inputs, targets = training_sequences(seqs, np.asarray(leave_one_out(seqs).train), max_len=3)
    assert inputs.tolist() == [[1, 2, 3]] and targets.tolist() == [[2, 3, 4]]


@pytest.mark.parametrize("temperature,negatives,grouped", [(None, 16, False), (0.1, 16, False), (None, 0, False),
                                                         (None, 0, True)])  # dot, cosine, full softmax; length-grouped
def test_it_learns_a_next_item_rule(temperature, negatives, grouped):
    # Every user walks the catalogue in steps of +1 from a random start: a learnable rule that
    # random or popularity ranking cannot guess (HR@10 by chance: ~10 / 40).
    rng = np.random.default_rng(0)
    seqs = [_user([(s + k) % 40 + 1 for k in range(12)]) for s in rng.integers(0, 40, 200)]
    split = leave_one_out(seqs)
    model, history, best_epoch = train_reference(seqs, split, 40, max_len=10, d_model=32, layers=1, heads=1,
                                                 dropout=0.0, negatives=negatives, batch_size=32, lr=5e-3, epochs=15,
                                                 patience=15, temperature=temperature, length_grouping=grouped,
                                                 log=lambda *_: None)
    test = evaluate_reference(model, seqs, split.test, max_len=10)
    assert test["users"] == 200 and test["hr@10"] > 0.9, test
    assert history[best_epoch - 1]["valid_ndcg@10"] == max(h["valid_ndcg@10"] for h in history)


def test_a_stop_request_ends_training_after_the_epoch_and_returns_the_best_one():
    """SIGUSR1 (the way a long benchmark run is ended) at epoch 1's summary line: no epoch 2
    starts, epoch 1's model is returned, and the handler is gone afterwards."""
    import os
    import signal
    rng = np.random.default_rng(0)
    seqs = [_user([(s + k) % 40 + 1 for k in range(12)]) for s in rng.integers(0, 40, 64)]
    sent = []

    def log(line):
        if line.startswith("epoch 1:"):
            sent.append(True)
            os.kill(os.getpid(), signal.SIGUSR1)

    _, history, best_epoch = train_reference(seqs, leave_one_out(seqs), 40, max_len=10, d_model=16, layers=1,
                                             heads=1, dropout=0.0, negatives=8, batch_size=32, epochs=5,
                                             patience=5, log=log)
    assert sent and len(history) == 1 and best_epoch == 1 and "valid_ndcg@10" in history[0]
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, "the handler is removed after training"
