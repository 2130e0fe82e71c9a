"""scripts/bench_table.py's comparison of two runs: the relative gap and its Welch interval on hand-computed cases."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_table.py"
_spec = importlib.util.spec_from_file_location("bench_table", SCRIPT)
bench_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_table)


def test_gap_and_interval_by_hand():
    # a: mean .24, sd .02 over 3 seeds; b: .20 on every seed (no spread), so Welch's df = 3 - 1 = 2 and t = 4.303.
    gap, low, high = bench_table.relative_gap([0.22, 0.24, 0.26], [0.20, 0.20, 0.20])
    half = 4.303 * 0.02 / 3 ** 0.5
    assert gap == pytest.approx(0.20)
    assert low == pytest.approx((0.04 - half) / 0.20)
    assert high == pytest.approx((0.04 + half) / 0.20)


def test_equal_spreads_use_the_pooled_degrees_of_freedom():
    # equal variances and sizes: Welch's df = 2 (n - 1) = 4, t = 2.776; se = sd * sqrt(2 / n).
    a, b = [1.1, 1.2, 1.3], [0.9, 1.0, 1.1]
    gap, low, high = bench_table.relative_gap(a, b)
    half = 2.776 * 0.1 * (2 / 3) ** 0.5
    assert (gap, low, high) == pytest.approx((0.2, 0.2 - half, 0.2 + half))


def test_one_seed_has_no_interval():
    assert bench_table.relative_gap([0.3], [0.2, 0.25]) is None


def test_fractional_degrees_of_freedom_round_to_the_wider_interval():
    assert bench_table.t_975(4.9) == bench_table.t_975(4) == pytest.approx(2.776)
    assert bench_table.t_975(0.5) == pytest.approx(12.706)
    assert bench_table.t_975(500) == pytest.approx(1.96)


def _write(root: Path, name: str, seed: int, hr: float) -> None:
    metrics = {"test": {"hr@10": hr, "ndcg@10": hr / 2}, "selected_epoch": 3, "train_seconds": 10.0, "epochs_run": 5}
    (root / f"{name}-s{seed}.json").write_text(json.dumps(metrics))


def test_compare_prints_the_gap_of_two_runs(tmp_path):
    for seed, (ours, base) in enumerate([(0.22, 0.20), (0.24, 0.20), (0.26, 0.20)], start=1):
        _write(tmp_path, "ml-ours-t", seed, ours)
        _write(tmp_path, "ml-base-t", seed, base)
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--compare", "ml-ours-t", "ml-base-t"],
                         capture_output=True, text=True, check=True).stdout
    assert "| HR@10 | 3 / 3 | +20.0% | -4.8% .. +44.8% |" in out
    assert "| NDCG@10 | 3 / 3 | +20.0% |" in out


def test_compare_names_the_runs_it_has_when_one_is_missing(tmp_path):
    _write(tmp_path, "ml-ours-t", 1, 0.2)
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--compare", "ml-ours-t", "ml-nope"],
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert "no run named 'ml-nope'" in run.stderr and "ml-ours-t" in run.stderr


def test_an_undefined_metric_is_left_out_of_the_mean():
    runs = [{"test": {"auc": None, "hr@10": 0.1}}, {"test": {"auc": 0.8, "hr@10": 0.3}}, {"test": {"hr@10": 0.2}}]
    assert bench_table.values(runs, "auc") == [0.8]          # null (a log without negative labels) and absent: no value
    assert bench_table.values(runs, "hr@10") == [0.1, 0.3, 0.2]
