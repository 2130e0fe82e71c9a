"""rotary_rows.py and encoding.slot_inputs, the specification of the rows and slot masks the runtime hands the encode
graph, against what the model computes itself."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genrec_trainer.encoding import KEY_PADDING, SLOT_INPUTS, slot_inputs
from genrec_trainer.rotary_rows import (KEY_ROTARY_IDS, ROTARY_COS, ROTARY_IDS, ROTARY_SIN, RotarySpec,
                                        rotary_inputs)
from test_switches import CONFIGS, _model

# every switch that moves a rotation: time signal, time scale, tied positions, the queries' time
ROTATION_CONFIGS = [dict(), *[c for c in CONFIGS if c.get("time_signal") != "bucket" or c.get("query_time")]]


def _served(model, feeds: dict[str, np.ndarray], rotation=None) -> list[torch.Tensor]:
    inputs = {k: torch.from_numpy(v) for k, v in feeds.items()}
    with torch.no_grad():
        return list(model.encode_served(**inputs, item_table=model.item_table(), rotation=rotation))


def _rotation(spec: RotarySpec, feeds: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    rows = rotary_inputs(spec, feeds["history_actions"] > 0, feeds["history_age_seconds"])
    ids = torch.from_numpy(rows[ROTARY_IDS])
    return (torch.from_numpy(rows[ROTARY_COS]), torch.from_numpy(rows[ROTARY_SIN]), ids,
            torch.from_numpy(rows.get(KEY_ROTARY_IDS, rows[ROTARY_IDS])))


def _batch(tiny, lengths: list[int], ties: bool) -> dict[str, np.ndarray]:
    """Requests of these lengths left-padded into one batch; with ties, events sharing their second in pairs."""
    encoded = []
    for n in lengths:
        history = tiny.history(n)
        if ties:
            for i in range(1, len(history), 2):
                history[i]["time"] = history[i - 1]["time"]
        encoded.append(tiny.encoder.encode(history, "comedy" if n % 2 else None, history[-1]["time"] + 3600 if n else 10**9))
    width = max(e.history_items.shape[1] for e in encoded)
    feeds = {}
    for name in ("history_items", "history_actions", "history_age_seconds", "history_query_tokens"):
        arrays = [getattr(e, name) for e in encoded]
        feeds[name] = np.concatenate([np.pad(a, ((0, 0), (width - a.shape[1], 0)) + ((0, 0),) * (a.ndim - 2))
                                      for a in arrays])
    feeds["query_tokens"] = np.concatenate([e.query_tokens for e in encoded])
    return feeds


@pytest.mark.parametrize("switches", ROTATION_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("ties", [False, True], ids=["distinct_times", "tied_times"])
def test_rows_made_outside_give_the_models_own_outputs(tiny, switches, ties):
    # a batch: a full history, a shorter one left-padded, and an empty one (one padding event)
    model = _model(tiny, **switches)
    feeds = _batch(tiny, [8, 3, 0], ties)
    spec = RotarySpec.of_model(model)
    want = _served(model, feeds)
    rotation = _rotation(spec, feeds)
    got = _served(model, feeds, rotation)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=2e-6, rtol=0)
    # the graph reads the rows it is given: unturned ones change the embedding
    unturned = _served(model, feeds, (torch.ones_like(rotation[0]), torch.zeros_like(rotation[1]), *rotation[2:]))
    assert not np.allclose(unturned[0].numpy(), want[0].numpy(), atol=1e-3)


def test_rows_shapes_and_ids_for_queries_at_the_next_events_time():
    spec = RotarySpec((1.0, 0.5), (1.0,), (120,), "log", False, "next")
    valid = np.array([[False, True, True]])
    ages = np.array([[0, 7200, 60]], np.int64)
    rows = rotary_inputs(spec, valid, ages)
    s = 5                                                                    # 3 events, context, RET
    assert rows[ROTARY_COS].shape == (2 * s, 3) and rows[ROTARY_SIN].shape == (2 * s, 3)
    np.testing.assert_array_equal(rows[ROTARY_IDS], [np.arange(s)])
    np.testing.assert_array_equal(rows[KEY_ROTARY_IDS], [np.arange(s) + s])
    keys, queries = rows[ROTARY_COS][s:], rows[ROTARY_COS][:s]
    # positions from RET's place: padding -3, the two events -3 and -2, context -1, RET 0
    np.testing.assert_allclose(np.arccos(keys[:, 0]), np.abs([-3, -3, -2, -1, 0]), atol=1e-6)
    # the second event's key turns with its own age (1 minute), its query with the request's (age 0)
    assert keys[2, 2] == pytest.approx(np.cos(np.log1p(1.0)), abs=1e-6)
    assert queries[2, 2] == pytest.approx(1.0)
    # the first event's query turns with the second's age (1 minute), its key with its own (2 hours)
    assert queries[1, 2] == pytest.approx(np.cos(np.log1p(1.0)), abs=1e-6)
    assert keys[1, 2] == pytest.approx(np.cos(np.log1p(120.0)), abs=1e-6)


def test_spec_round_trips_through_the_manifest(tiny):
    spec = RotarySpec.of_model(_model(tiny, time_scale="linear", tie_positions=True))
    assert RotarySpec.of_manifest(spec.manifest()) == spec
    assert spec.input_names() == [ROTARY_COS, ROTARY_SIN, ROTARY_IDS]


def test_the_java_runtimes_cases_are_what_the_spec_makes_now():
    # model-runtime's RotaryRowsTest and SlotMasksTest hold Java to these; a change here must regenerate them
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_runtime_input_cases.py"
    spec = importlib.util.spec_from_file_location("make_runtime_input_cases", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(module.CASES_FILE.read_text()) == module.cases(), f"stale: run {script.name}"


@pytest.mark.parametrize("switches", [dict(), dict(block="hstu", time_signal="rope", item_text=True)], ids=["softmax", "hstu"])
def test_slot_masks_made_outside_give_the_models_own_outputs(tiny, switches):
    # the rows and the slot masks as the runtime hands them in, on a left-padded batch with an empty history
    model = _model(tiny, **switches)
    feeds = _batch(tiny, [8, 3, 0], ties=False)
    slots = slot_inputs(feeds["history_actions"] > 0)
    rotation = _rotation(RotarySpec.of_model(model), feeds)
    want = _served(model, feeds)
    inputs = {k: torch.from_numpy(v) for k, v in feeds.items()}
    with torch.no_grad():
        got = model.encode_served(**inputs, item_table=model.item_table(), rotation=rotation,
                                  slots=tuple(torch.from_numpy(slots[name]) for name in SLOT_INPUTS))
    for w, g in zip(want, got):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=2e-6, rtol=0)
    # the padding is read from the input: hiding every history key changes the embedding of the full history
    hidden = slots[KEY_PADDING].copy()
    hidden[0, ..., :-2] = -1e9
    with torch.no_grad():
        blind = model.encode_served(**inputs, item_table=model.item_table(), rotation=rotation,
                                    slots=(torch.from_numpy(hidden), *(torch.from_numpy(slots[n]) for n in SLOT_INPUTS[1:])))
    assert not np.allclose(blind[0][0].numpy(), want[0][0].numpy(), atol=1e-3)
