"""cooccurrence.py: the same-second and events-apart counts, what the prior reads of a request (its latest second or
its last events) and the prior, on hand-made logs; and the served order's co-occurrence term (evaluate.ServedWindows)
with its weight chosen on validation."""
import numpy as np
import pytest

from genrec_trainer.cooccurrence import MAX_SECOND_EVENTS, CoOccurrence, context_items, latest_second
from genrec_trainer.data import UserSequence, leave_one_out
from genrec_trainer.encoding import RequestEncoder
from genrec_trainer.evaluate import ServedWindows, choose_served_weights
from genrec_trainer.tokenizer import Vocab
from genrec_trainer.train import last_training_positions


def _seq(items, timestamps):
    n = len(items)
    return UserSequence("u", np.array(items), np.ones(n, np.int64), np.array(timestamps), np.zeros((n, 1), np.int64),
                        np.full(n, -1))


def _dense(co: CoOccurrence) -> np.ndarray:
    return np.stack([co.summed(np.array([i])) for i in range(co.num_items + 1)])


def test_counts_pair_the_items_of_one_second_from_training_events_only():
    # user 0: items 1, 2, 3 in second 10 (training), 5 (validation), 4 (test);
    # user 1: items 2, 1 in second 5 (training), 3 (validation) and 4 (test) together in second 9
    seqs = [_seq([1, 2, 3, 5, 4], [10, 10, 10, 20, 30]), _seq([2, 1, 3, 4], [5, 5, 9, 9])]
    counts = _dense(CoOccurrence.count(seqs, last_training_positions(leave_one_out(seqs).train), 5, neighbours=10))
    assert counts[1, 2] == counts[2, 1] == 2  # both users logged 1 and 2 in one second
    assert counts[1, 3] == counts[3, 2] == 1  # user 0 only
    assert counts[3, 4] == counts[4, 3] == 0 and np.trace(counts) == 0  # user 1's 3 and 4 are held out
    assert counts.sum() == 2 * 4


def test_each_item_keeps_its_most_frequent_partners_ties_to_the_lower_index():
    # item 1 with 2 three times, with 3 and 4 once each, with 5 twice
    seqs = [_seq([1, 2], [0, 0]), _seq([1, 2], [0, 0]), _seq([1, 2, 5], [0, 0, 0]), _seq([1, 3], [0, 0]),
            _seq([1, 4, 5], [0, 0, 0])]
    co = CoOccurrence.count(seqs, {u: len(s.items) - 1 for u, s in enumerate(seqs)}, 5, neighbours=3)
    row = co.neighbours[co.offsets[1]:co.offsets[2]]
    assert row.tolist() == [2, 3, 5] and co.counts[co.offsets[1]:co.offsets[2]].tolist() == [3, 1, 2]  # 4 tied with 3: out


def test_a_second_of_more_than_the_bulk_limit_is_left_out():
    big = list(range(1, MAX_SECOND_EVENTS + 2))
    seqs = [_seq(big, [7] * len(big)), _seq([1, 2], [3, 3])]
    co = CoOccurrence.count(seqs, {0: len(big) - 1, 1: 1}, len(big), neighbours=500)
    assert co.summed(np.array([1]))[2] == 1 and co.summed(np.array([1]))[3] == 0


def test_the_file_round_trips_and_the_prior_is_log1p_of_the_summed_counts(tmp_path):
    seqs = [_seq([1, 2, 3], [4, 4, 4]), _seq([1, 3], [1, 1]), _seq([2, 4], [6, 6])]
    co = CoOccurrence.count(seqs, {0: 2, 1: 1, 2: 1}, 4, neighbours=10)
    co.write(tmp_path / "co.bin")
    again = CoOccurrence.read(tmp_path / "co.bin")
    for a, b in zip((co.offsets, co.neighbours, co.counts), (again.offsets, again.neighbours, again.counts)):
        np.testing.assert_array_equal(a, b)
    # context {1, 2}: item 3 has 2 with 1 and 1 with 2; item 4 has 1 with 2; unknown and padding indices: 0
    np.testing.assert_allclose(again.prior(np.array([1, 2]), np.array([3, 4, 1, 0, 99])),
                               [np.log1p(3), np.log1p(1), np.log1p(1), 0, 0])


def test_the_latest_second_is_that_of_the_latest_history_event_known_items_only():
    assert latest_second(np.array([5, 6, 7, 0, 8]), np.array([1, 2, 3, 3, 3])).tolist() == [7, 8]
    assert latest_second(np.array([0]), np.array([], np.int64)).tolist() == []   # an empty history's padding
    seq = _seq([1, 2, 3, 4, 5, 6], [1, 2, 2, 2, 3, 3])
    co = CoOccurrence.count([seq], {0: 5}, 6, neighbours=10)
    contexts = co.request_contexts([seq], [(0, 4), (0, 6)], max_history=2)      # histories [3, 4] and [5, 6]
    assert [c.tolist() for c in contexts] == [[3, 4], [5, 6]]


def test_span_counts_pair_events_up_to_k_apart_from_training_events_only():
    # user 0: 1 2 3 1 | 5 (validation) 6 (test); user 1: 2 4 | 3 (validation) 1 (test)
    seqs = [_seq([1, 2, 3, 1, 5, 6], [0] * 6), _seq([2, 4, 3, 1], [0] * 4)]
    co = CoOccurrence.count(seqs, last_training_positions(leave_one_out(seqs).train), 6, neighbours=10, span=2)
    counts = _dense(co)
    assert co.span == 2
    assert counts[1, 2] == counts[2, 1] == 2      # positions 0-1 and 1-3 (2 apart) of user 0
    assert counts[1, 3] == 2 and counts[2, 3] == 1 and counts[2, 4] == 1   # 1-3: positions 0-2 and 2-3
    assert counts[1, 1] == 0 and counts[:, 5].sum() == counts[:, 6].sum() == 0   # no self pairs; held-out events out
    assert counts.sum() == 2 * 6   # positions (0,1) (0,2) (1,2) (1,3) (2,3) of user 0 and (0,1) of user 1, both ways


def test_the_context_is_the_latest_second_or_the_last_k_events_known_items_only():
    items, times = np.array([5, 6, 7, 0, 8]), np.array([1, 2, 3, 3, 3])
    assert context_items(items, times, 0).tolist() == [7, 8]
    assert context_items(items, times, 3).tolist() == [7, 8]                      # the last 3 events, one unknown
    assert context_items(np.array([4, 9, 4]), np.zeros(3, np.int64), 2).tolist() == [4, 9]
    assert context_items(np.array([0]), np.array([], np.int64), 5).tolist() == []   # an empty history's padding
    seq = _seq([1, 2, 3, 4, 5, 6], [0] * 6)
    co = CoOccurrence.count([seq], {0: 5}, 6, neighbours=10, span=3)
    # span 3 within histories of 2 events (those before positions 5 and 3): the history as the model reads it bounds it
    assert [c.tolist() for c in co.request_contexts([seq], [(0, 5), (0, 3)], max_history=2)] == [[4, 5], [2, 3]]


@pytest.mark.parametrize("span, expected", [(0, [2, 3]), (2, [2, 3]), (3, [1, 2, 3])])
def test_the_request_encoder_reads_the_same_context(span, expected):
    encoder = RequestEncoder({"a": 1, "b": 2, "c": 3}, ["click"], Vocab.build([]), max_history=10, max_query_tokens=2,
                             co_occurrence_span=span)
    history = [{"item": "c", "action": "click", "time": 50}, {"item": "a", "action": "click", "time": 20},
               {"item": "unknown", "action": "click", "time": 50}, {"item": "b", "action": "click", "time": 50}]
    # the events the model reads, in time order: a (20), c, b (50; the unknown item, without text, is left out)
    assert encoder.encode(history, None, 60).co_occurrence_context.tolist() == expected
    assert encoder.encode([], None, 60).co_occurrence_context.tolist() == []


def test_the_span_and_the_counts_round_trip_through_the_file_and_the_manifest(tmp_path):
    seqs = [_seq([1, 2, 3], [0, 0, 0])]
    co = CoOccurrence.count(seqs, {0: 2}, 3, neighbours=10, span=1)
    co.write(tmp_path / "co.bin")
    again = CoOccurrence.read(tmp_path / "co.bin", span=co.span)
    assert again.span == 1 and _dense(again)[1, 2] == 1 and _dense(again)[1, 3] == 0


def _windows(prior: np.ndarray, targets_first: bool) -> ServedWindows:
    similarity = np.tile(np.linspace(0.9, 0.1, 5), (len(prior), 1))  # retrieval puts column 0 first
    return ServedWindows(similarity, np.zeros_like(similarity), np.full(len(prior), 0 if targets_first else 3),
                         np.full(len(prior), 0 if targets_first else 3), prior)


def test_the_prior_moves_the_served_order_and_the_weights_are_chosen_together_on_validation():
    prior = np.zeros((4, 5))
    prior[:, 3] = 2.0                                   # the prior names column 3, the target
    windows = _windows(prior, targets_first=False)
    assert windows.target_ranks(1.0).tolist() == [3] * 4
    assert windows.target_ranks(1.0, 1.0).tolist() == [0] * 4
    w, v, tried = choose_served_weights(windows)
    assert v > 0 and tried[f"{w:g},{v:g}"] == pytest.approx(1.0) and tried[f"{w:g},0"] < 1.0
    w, v, _ = choose_served_weights(windows, retrieval_weights=(5.0,))   # a given retrieval weight stays
    assert w == 5.0 and v > 0
    useless = _windows(np.tile(np.linspace(0.0, 2.0, 5), (4, 1)), targets_first=True)  # favours the last column
    assert choose_served_weights(useless)[1] == 0.0
