"""Writes the cases of the encode inputs the runtime makes, which the Java runtime's RotaryRowsTest and SlotMasksTest
check themselves against: the rotary rows of each switch that moves a rotation (time scale, tied positions, queries at
the next event's time, no time signal, more time pairs than position pairs), on a left-padded batch with tied and zero
ages, as rotary_rows.py makes them, and that batch's slot masks (encoding.slot_inputs). The golden vectors of the
fixture bundle cover its one configuration; these cover the others. tests/test_rotary_rows.py fails when the file is
not what this script writes.

    .venv/bin/python scripts/make_runtime_input_cases.py   # from trainer/
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere
from genrec_trainer.encoding import slot_inputs  # noqa: E402
from genrec_trainer.rotary_rows import RotarySpec, rotary_inputs  # noqa: E402

CASES_FILE = (Path(__file__).resolve().parents[2]
              / "model-runtime/src/test/resources/org/genrec/runtime/encoding/runtime_input_cases.json")
POSITIONS = (1.0, 0.1, 0.01)
TIMES = (1.0, 0.5, 0.25)
PERIODS = (120, 5400, 1_000_000)


def cases() -> dict:
    specs = {"log": RotarySpec(POSITIONS, TIMES, PERIODS, "log", False, "own"),
             "linear": RotarySpec(POSITIONS, TIMES, PERIODS, "linear", False, "own"),
             "tied_positions": RotarySpec(POSITIONS, TIMES, PERIODS, "log", True, "own"),
             "query_at_next_event": RotarySpec(POSITIONS, TIMES, PERIODS, "linear", True, "next"),
             "no_time_pairs": RotarySpec(POSITIONS + (0.001, 0.0001, 0.00001), (), (), "log", False, "own"),
             # time frequencies that are not halvings (the runtime's shortcut for those does not apply)
             "log_other_frequencies": RotarySpec(POSITIONS, (1.0, 0.3, 0.07), PERIODS, "log", False, "own"),
             # more pairs by time than by position (--time-rope-fraction above 0.5)
             "more_time_pairs": RotarySpec(POSITIONS[:1], TIMES + (0.125, 0.0625), PERIODS + (4_000_000, 9_000_000),
                                           "log", False, "own")}
    # three rows of 6 slots: 4 events left-padded (two share a second, the last at the request's second), a full row
    # with ages past 2^24 seconds (float32 rounds them), and an empty history
    actions = np.array([[0, 0, 1, 2, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], np.int64)
    ages = np.array([[0, 0, 86_400, 3_600, 3_600, 0], [40_000_123, 20_000_001, 99_999, 601, 59, 1],
                     [0, 0, 0, 0, 0, 0]], np.int64)
    out = []
    for name, spec in specs.items():
        rows = rotary_inputs(spec, actions > 0, ages)
        out.append({"name": name, "rotary": spec.manifest(), "actions": actions.tolist(), "ages": ages.tolist(),
                    "expected": {k: v.tolist() for k, v in rows.items()}})
    slots = {"actions": actions.tolist(), "expected": {k: v.tolist() for k, v in slot_inputs(actions > 0).items()}}
    return {"cases": out, "slots": slots}


if __name__ == "__main__":
    CASES_FILE.write_text(json.dumps(cases(), indent=1) + "\n")
    print(f"wrote {CASES_FILE}")
