"""scripts/paired_ranks.py: two models' --ranks-out files paired event by event, on hand-made ranks."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paired_ranks.py"
_spec = importlib.util.spec_from_file_location("paired_ranks", SCRIPT)
paired_ranks = importlib.util.module_from_spec(_spec)
sys.modules["paired_ranks"] = paired_ranks  # its dataclass looks its module up there
_spec.loader.exec_module(paired_ranks)


def _write(path, ranks, gaps):
    with open(path, "w") as f:
        for u, (rank, gap) in enumerate(zip(ranks, gaps)):
            f.write(json.dumps({"user": str(u), "position": 20 + u, "item": "x", "rank": rank, "label": 1,
                                "history": 20 + u, "seconds_since_previous": gap}) + "\n")


def test_seeds_average_per_event_and_ranks_count_from_zero(tmp_path):
    # event 0: ranked first by one seed and 10th (rank 9: still a hit) by the other; event 1: 11th (rank 10) by both
    _write(tmp_path / "a-s1.jsonl", [0, 10], [0, 60])
    _write(tmp_path / "a-s2.jsonl", [9, 10], [0, 60])
    runs = paired_ranks.read_runs(str(tmp_path / "a-s*.jsonl"))
    assert runs.hit.mean(0).tolist() == [1.0, 0.0]
    assert runs.ndcg.mean(0) == pytest.approx([(1.0 + 1 / np.log2(11)) / 2, 0.0])


def test_the_gap_and_its_interval_keep_the_pairing():
    rng = np.random.default_rng(0)
    b = rng.random(500)
    gap, lo, hi = paired_ranks.relative_gap_interval(1.1 * b, b, rng, 500)
    assert gap == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)  # paired: no spread
    gap, lo, hi = paired_ranks.relative_gap_interval(rng.permutation(b) * 1.1, b, rng, 500)
    assert gap == pytest.approx(0.1) and lo < 0.05 and hi > 0.15                                  # unpaired noise


def test_files_of_other_test_events_are_refused(tmp_path):
    _write(tmp_path / "a-s1.jsonl", [0, 1], [0, 0])
    _write(tmp_path / "a-s2.jsonl", [0, 1, 2], [0, 0, 0])
    with pytest.raises(SystemExit, match="other test events"):
        paired_ranks.read_runs(str(tmp_path / "a-s*.jsonl"))


def test_segments_split_by_seconds_since_the_previous_event_and_history_quartiles():
    facts = {("u", i): {"seconds_since_previous": g, "history": h}
             for i, (g, h) in enumerate([(0, 10), (5, 20), (7_200, 30), (200_000, 40)])}
    rows = dict(paired_ranks.segments(facts, sorted(facts)))
    assert rows["all test events"].sum() == 4
    assert rows["the event before in the same second"].tolist() == [True, False, False, False]
    assert rows["the event before over a day earlier"].tolist() == [False, False, False, True]
    assert sum(m.sum() for name, m in rows.items() if name.startswith("history")) == 4
