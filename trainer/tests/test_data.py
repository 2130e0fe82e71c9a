import numpy as np
import pytest
import torch

from conftest import ACTIONS, MAX_HISTORY, MAX_Q
from genrec_trainer import synthetic
from genrec_trainer.data import UserSequence, group_by_user, leave_one_out, make_batch, shuffled_within_seconds
from genrec_trainer.schema import Event


def test_synthetic_is_deterministic_and_structured():
    a_items, a_events = synthetic.generate(seed=5, num_users=20, num_items=40)
    b_items, b_events = synthetic.generate(seed=5, num_users=20, num_items=40)
    assert a_items == b_items and a_events == b_events
    assert synthetic.generate(seed=6, num_users=20, num_items=40)[1] != a_events
    topic_of = {it.item_id: it.categories[0] for it in a_items}
    searches = [e for e in a_events if e.query]
    assert searches
    for e in searches:  # a search leads to an item of the topic its words come from
        assert all(w in synthetic.TOPICS[topic_of[e.item_id]] for w in e.query.split())
    for u in {e.user_id for e in a_events}:
        ts = [e.timestamp for e in a_events if e.user_id == u]
        assert ts == sorted(ts) and 20 <= len(ts) <= 60


def test_group_sort_is_stable_and_split_is_leave_one_out(tiny):
    evs = [Event("u", "i3", "click", 10), Event("u", "i1", "click", 5), Event("u", "i2", "purchase", 10),
           Event("u", "nope", "click", 7), Event("u", "i4", "click", 10)]
    (s,) = group_by_user(evs, tiny.index, ACTIONS, tiny.vocab, MAX_Q)
    assert s.items.tolist() == [tiny.index[i] for i in ("i1", "i3", "i2", "i4")]  # equal times keep order
    split = leave_one_out([s])
    assert split.test == [(0, 3)] and split.valid == [(0, 2)] and split.train == [(0, 0), (0, 1)]


def test_training_batch_matches_request_encoding(tiny):
    """Training batches and the serving encoder (golden, Java) must agree on every tensor."""
    seqs = group_by_user(tiny.events, tiny.index, ACTIONS, tiny.vocab, MAX_Q)
    user = seqs[0]
    evs = sorted([e for e in tiny.events if e.user_id == user.user_id], key=lambda e: e.timestamp)
    for t in (0, 3, len(evs) - 1):
        batch = make_batch(seqs, [(0, t), (1, 2)], MAX_HISTORY)
        hist = [{"item": e.item_id, "action": e.action, "time": e.timestamp, "query": e.query} for e in evs[:t]]
        enc = tiny.encoder.encode(hist, evs[t].query, evs[t].timestamp)
        n = enc.history_items.shape[1]
        for name, arr in enc.graph_inputs().items():
            got = batch[name][:1].numpy()
            if name != "query_tokens":
                got = got[:, got.shape[1] - n:]  # the batch is left-padded further
            if t == 0 and name.startswith("history"):
                arr = np.zeros_like(arr)  # encoder: one padding event; batch: padding too
            assert np.array_equal(got, arr), (t, name)
        assert batch["target"][0].item() == tiny.index[evs[t].item_id]


def test_dense_targets_per_batch_is_the_average_batchs_target_count():
    """Each example (u, t) carries min(t, max_history) dense targets; the fixed divisor is what an
    epoch's batches hold on average, grouped by length or not."""
    from genrec_trainer.train import dense_targets_per_batch, epoch_batches
    assert dense_targets_per_batch(np.array([[0, 0], [1, 3], [2, 60]]), 2, 50) == pytest.approx(2 * 53 / 3)
    rng = np.random.default_rng(0)
    examples = np.stack([np.arange(800), rng.integers(0, 80, 800)], axis=1)
    for pool in (8, 0):
        batches = epoch_batches(examples, 800, 100, 50, np.random.default_rng(1), pool=pool)
        held = [sum(min(t, 50) for _, t in b) for b in batches]
        assert np.mean(held) == pytest.approx(dense_targets_per_batch(examples, 100, 50))


def test_epoch_batches_group_by_length_or_draw_at_random():
    """pool > 0: each pool's batches hold contiguous history lengths (little padding); pool 0: random
    batches, so a batch's lengths spread like the whole sample's. Either way every example once."""
    from genrec_trainer.train import epoch_batches
    rng = np.random.default_rng(0)
    examples = np.stack([np.arange(800), rng.integers(0, 50, 800)], axis=1)   # (user, target index = length)
    for pool in (8, 0):
        batches = epoch_batches(examples, 800, 100, 50, np.random.default_rng(1), pool=pool)
        assert sorted(u for b in batches for u, _ in b) == list(range(800))
        spread = np.mean([np.ptp([t for _, t in b]) for b in batches])
        if pool:
            assert spread < 10, "one pool of 8 batches: each batch ~1/8 of the length range"
        else:
            assert spread > 40, "random batches span ~the whole range of lengths"


def test_shuffled_within_seconds_reorders_only_training_events_inside_a_second():
    ts = np.array([5, 5, 5, 5, 9, 9, 12, 12, 12])  # the training events end at position 6 (12 straddles it)
    s = UserSequence("u", np.arange(1, 10), np.arange(11, 20), ts, np.arange(1, 10)[:, None] * [1, 1],
                     np.arange(21, 30))
    seen = set()
    for seed in range(30):
        (got,) = shuffled_within_seconds([s], {0: 6}, np.random.default_rng(seed))
        assert (got.timestamps == ts).all()
        order = got.items - 1
        # every column moves with its event
        assert (got.actions == s.actions[order]).all() and (got.labels == s.labels[order]).all()
        assert (got.query_tokens == s.query_tokens[order]).all()
        assert sorted(order[:4]) == [0, 1, 2, 3] and sorted(order[4:6]) == [4, 5]
        assert (order[6:] == [6, 7, 8]).all()  # position 6 is a run of one inside training; 7, 8 are held out
        seen.add(tuple(order[:6]))
    assert len(seen) > 10  # fresh orders, not one fixed swap
    (untouched,) = shuffled_within_seconds([s], {}, np.random.default_rng(0))  # a user without training events
    assert (untouched.items == s.items).all()
