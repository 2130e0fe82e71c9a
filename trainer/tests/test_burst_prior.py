"""scripts/burst_prior.py: the co-rating prior and its fusion weight, on hand-made sequences."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genrec_trainer.data import UserSequence, leave_one_out

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "burst_prior.py"
_spec = importlib.util.spec_from_file_location("burst_prior", SCRIPT)
burst_prior = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(burst_prior)


def _seq(items, timestamps):
    n = len(items)
    return UserSequence("u", np.array(items), np.ones(n, np.int64), np.array(timestamps), np.zeros((n, 1), np.int64),
                        np.full(n, -1))


def test_co_burst_counts_pairs_of_one_second_from_training_events_only():
    # user 0: items 1, 2, 3 in second 10 (training), 5 (validation), 4 (test);
    # user 1: items 2, 1 in second 5 (training), 3 (validation) and 4 (test) together in second 9
    seqs = [_seq([1, 2, 3, 5, 4], [10, 10, 10, 20, 30]), _seq([2, 1, 3, 4], [5, 5, 9, 9])]
    counts = burst_prior.co_counts(seqs, leave_one_out(seqs).train, num_items=5)
    assert counts[1, 2] == counts[2, 1] == 2  # both users rated 1 and 2 in one second
    assert counts[1, 3] == counts[3, 2] == 1  # user 0 only
    assert counts[3, 4] == counts[4, 3] == 0 and np.trace(counts) == 0  # user 1's 3 and 4 are held out


def test_window_counts_pair_items_up_to_five_positions_apart_in_training_events():
    seqs = [_seq(list(range(1, 10)), list(range(9)))]  # train = items 1..7
    counts = burst_prior.co_counts(seqs, leave_one_out(seqs).train, num_items=9, span=5)
    assert counts[1, 6] == counts[6, 1] == 1 and counts[1, 7] == 0 and counts[7, 8] == 0


def test_latest_items_are_the_latest_second_of_the_history_window():
    seq = _seq([1, 2, 3, 4, 5, 6], [1, 2, 2, 2, 3, 3])
    assert burst_prior.latest_items([seq], 0, 4, 200, "burst").tolist() == [2, 3, 4]   # request at position 4
    assert burst_prior.latest_items([seq], 0, 4, 2, "burst").tolist() == [3, 4]        # history of 2 events
    assert burst_prior.latest_items([seq], 0, 6, 200, "window").tolist() == [2, 3, 4, 5, 6]


def test_context_sizes_count_the_distinct_items_each_request_reads():
    seq = _seq([1, 2, 3, 3, 5, 6], [1, 2, 2, 2, 3, 3])   # item 3 twice in one second counts once
    examples = np.array([[0, 4, 5], [0, 5, 6]])           # requests at positions 4 and 5: (user, position, target)
    assert burst_prior.context_sizes([seq], examples, 200, "burst").tolist() == [2, 1]


def test_the_weight_is_zero_for_a_useless_prior_and_positive_for_a_telling_one():
    rng = np.random.default_rng(0)
    targets = rng.integers(1, 50, 200)
    model = rng.normal(size=(200, 50))
    model[np.arange(200), targets] += 2.0                 # the model finds many targets
    noise = rng.normal(size=(200, 50))
    telling = np.zeros((200, 50))
    telling[np.arange(200), targets] = 1.0               # the prior names the target
    assert burst_prior.best_weight(model, noise, targets)[0] == 0.0
    w, top = burst_prior.best_weight(model, telling, targets)
    assert w > 0 and top == pytest.approx(1.0)


def test_fusing_within_the_top_reorders_the_top_only():
    model = np.array([[-np.inf, 5.0, 4.0, 3.0, 2.0]])
    prior = np.array([[0.0, 0.0, 0.0, 2.5, 9.0]])
    assert np.argsort(-burst_prior.fuse(model, prior, 1.0))[0, :2].tolist() == [4, 3]   # all: item 4 jumps first
    within = burst_prior.fuse(model, prior, 1.0, top=3)                                  # top 3 = items 1, 2, 3
    assert np.argsort(-within)[0, :4].tolist() == [3, 1, 2, 4] and np.isneginf(within[0, 0])
