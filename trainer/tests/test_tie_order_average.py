"""scripts/tie_order_average.py: the latest second's rotations, and the averaged encode against evaluate's."""
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import torch

from conftest import ACTIONS
from genrec_trainer import evaluate
from genrec_trainer.data import group_by_user, item_index

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "tie_order_average.py"
_spec = importlib.util.spec_from_file_location("tie_order_average", SCRIPT)
tie_order_average = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tie_order_average)


def _batch(items, ages):
    items, ages = torch.tensor(items), torch.tensor(ages)
    return {"history_items": items, "history_actions": items + 100, "history_labels": items + 200,
            "history_age_seconds": ages, "history_query_tokens": items[:, :, None].repeat(1, 1, 2)}


def test_each_of_the_latest_seconds_last_events_takes_the_last_place_in_turn():
    # row 0: a latest second of 3 (items 6, 7, 8) after padding; row 1: no ties; row 2: one event
    batch = _batch([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 9]],
                   [[0, 0, 9, 3, 3, 3], [5, 4, 3, 2, 1, 0], [0, 0, 0, 0, 0, 0]])
    variants, distinct = tie_order_average.latest_second_rotations(batch, 4)
    assert distinct.tolist() == [3, 1, 1]
    assert [v["history_items"][0].tolist() for v in variants] == [
        [0, 0, 5, 6, 7, 8], [0, 0, 5, 6, 8, 7], [0, 0, 5, 7, 8, 6], [0, 0, 5, 6, 7, 8]]
    for v in variants:
        assert v["history_items"][1:].tolist() == batch["history_items"][1:].tolist()
        assert (v["history_actions"] == v["history_items"] + 100).all()      # every column moves with its event
        assert (v["history_labels"] == v["history_items"] + 200).all()
        assert (v["history_query_tokens"][:, :, 1] == v["history_items"]).all()


@torch.no_grad()
def test_the_average_over_rotations_is_the_mean_of_the_distinct_orders_encodings(tiny):
    seqs = group_by_user(tiny.events, item_index(tiny.items), ACTIONS, tiny.vocab, max_query_tokens=4)
    s = seqs[0]
    ts = s.timestamps.copy()
    ts[-3:] = ts[-3]                                    # the test request's history ends with two events in one second
    seqs[0] = dataclasses.replace(s, timestamps=ts)
    t = len(ts) - 1
    examples = [(0, t), (1, len(seqs[1].items) - 1)]
    plain = list(evaluate._encoded_batches(tiny.model, seqs, examples, 8, 8))
    once = list(tie_order_average.averaged_encoded_batches(1)(tiny.model, seqs, examples, 8, 8))
    np.testing.assert_allclose(once[0][1], plain[0][1], rtol=1e-6, atol=1e-6)
    averaged = list(tie_order_average.averaged_encoded_batches(4)(tiny.model, seqs, examples, 8, 8))

    swapped = s.items.copy()
    swapped[t - 2], swapped[t - 1] = swapped[t - 1], swapped[t - 2]
    other = [dataclasses.replace(seqs[0], items=swapped, actions=s.actions[[*range(t - 2), t - 1, t - 2, t]],
                                 query_tokens=s.query_tokens[[*range(t - 2), t - 1, t - 2, t]],
                                 labels=s.labels[[*range(t - 2), t - 1, t - 2, t]]), seqs[1]]
    rotated = list(evaluate._encoded_batches(tiny.model, other, examples, 8, 8))
    row = [u for u, _ in evaluate.by_history_length(examples, 8)].index(0)
    np.testing.assert_allclose(averaged[0][1][row], (plain[0][1][row] + rotated[0][1][row]) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(averaged[0][1][1 - row], plain[0][1][1 - row], rtol=1e-5, atol=1e-6)
    assert not np.allclose(rotated[0][1][row], plain[0][1][row])        # the order did matter to the model
