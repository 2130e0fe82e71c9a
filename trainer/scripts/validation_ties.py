"""How much the test event takes from a run's validation score when the two share a timestamp.

MovieLens rates many movies in the same second: on ml-1m-part 42 % of users have their validation
(second-to-last) and test (last) events at one timestamp. The validation ranking excludes the
history, which ends before the validation event, so a tied test item stays in it as a rival, and a
model trained to predict every event of the next timestamp (`--tied-next`) ranks it high. This
prints the selected weights' validation metrics three ways: as the trainer computes them, with the
later events tied with the validation target also excluded, and with the test event excluded whether
tied or not (BENCHMARKS.md, ml-1m-part sessions 24-28). A diagnostic only: it reads the test event,
so it must never select a model.

    .venv/bin/python scripts/validation_ties.py CHECKPOINT TRAINER_FLAGS...
    e.g. scripts/validation_ties.py build/bench/ml-1m-ours-s27tie4-s1.ckpt --dataset ml-1m \
           --data-dir ../../shared/data/ml-1m-part --max-history 200 --preset ours --seed 1 \
           --recipe quality --exclude-seen --layers 4 --threads 1 --tied-next 4

TRAINER_FLAGS are the run's own (those its checkpoint was written with, less the output paths).
The run is not touched: a copy of its checkpoint, marked finished, makes the trainer only test.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import genrec_trainer.evaluate as evaluation  # noqa: E402
import genrec_trainer.train as trainer  # noqa: E402


def history_and_later_ties(seqs, examples) -> list[np.ndarray]:
    """The items before each target, plus those of the later events at the target's timestamp."""
    excluded = []
    for u, t in examples:
        s = seqs[u]
        later = np.arange(t + 1, len(s.items))
        excluded.append(np.concatenate([s.items[:t], s.items[later[s.timestamps[later] == s.timestamps[t]]]]))
    return excluded


def history_and_later(seqs, examples) -> list[np.ndarray]:
    """The items before each target, plus those of every later event (for validation: the test event)."""
    return [np.concatenate([seqs[u].items[:t], seqs[u].items[t + 1:]]) for u, t in examples]


def evaluate_excluding(exclusion, model, seqs, examples, max_history, **kwargs) -> dict[str, float]:
    """The trainer's evaluation with `exclusion` in place of the history as the items left out of the ranking."""
    history_items_of = evaluation.history_items_of
    evaluation.history_items_of = exclusion
    try:
        return evaluation.evaluate(model, seqs, examples, max_history, **kwargs)
    finally:
        evaluation.history_items_of = history_items_of


def evaluate_with_validation_ties(model, seqs, test_examples, max_history, **kwargs):
    """The trainer's final test call; first prints the validation metrics the three ways."""
    valid = [(u, t - 1) for u, t in test_examples]
    as_selected = evaluation.evaluate(model, seqs, valid, max_history, **kwargs)
    ties_excluded = evaluate_excluding(history_and_later_ties, model, seqs, valid, max_history, **kwargs)
    test_excluded = evaluate_excluding(history_and_later, model, seqs, valid, max_history, **kwargs)
    tied = sum(int(seqs[u].timestamps[t] == seqs[u].timestamps[t - 1]) for u, t in test_examples)
    rounded = lambda m: {k: round(v, 4) for k, v in m.items() if k != "users"}  # noqa: E731
    print(json.dumps({"users": len(valid), "validation_tied_with_test": tied, "validation": rounded(as_selected),
                      "validation_later_ties_excluded": rounded(ties_excluded),
                      "validation_test_event_excluded": rounded(test_excluded)}), flush=True)
    return evaluation.evaluate(model, seqs, test_examples, max_history, **kwargs)


def main(checkpoint: str, flags: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run.ckpt"
        shutil.copyfile(checkpoint, copy)
        saved = torch.load(copy, weights_only=False)
        saved["state"]["stopped_early"] = True  # the trainer then selects the best weights and tests
        torch.save(saved, copy)
        trainer.evaluate = evaluate_with_validation_ties
        trainer.main([*flags, "--checkpoint", str(copy), "--no-export", "--out", f"{tmp}/bundle",
                      "--metrics-out", f"{tmp}/metrics.json"])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
