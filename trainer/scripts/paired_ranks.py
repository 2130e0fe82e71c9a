"""Two models compared event by event on the same test users, from the `--ranks-out` files of their runs.

bench_table.py --compare sets the seeds' means side by side (Welch): its interval is about training randomness on
this one test set. Here each test event's HR@10 / NDCG@10 is averaged over a model's seeds, the two models are
paired on the event, and the users are resampled (bootstrap): the interval says how much the gap would move with
another sample of users, the runs fixed. The rows split the events by what a model with a time signal could use
(seconds since the event before: 0 is the same second, common on MovieLens) and by history length, so a gap can be
seen where it comes from.

  .venv/bin/python scripts/paired_ranks.py 'build/bench/ml-100k-ours-s25tie4-s*.ranks.jsonl' \
      'build/bench/ml-100k-sasrec-s25tie4-s*.ranks.jsonl'
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genrec_trainer.evaluate import hits, ndcg_gains  # noqa: E402

K = 10
GAP_SEGMENTS = [("the event before in the same second", 0, 0), ("the event before 1 s – 1 h earlier", 1, 3_600),
                ("the event before 1 h – 1 day earlier", 3_601, 86_400),
                ("the event before over a day earlier", 86_401, math.inf)]


@dataclass
class Runs:
    """One model's seeds, aligned on the events they share: hits and NDCG@10 [runs, events]."""
    files: list[str]
    events: list[tuple[str, int]]
    hit: np.ndarray
    ndcg: np.ndarray
    facts: dict[tuple[str, int], dict]


def read_runs(pattern: str) -> Runs:
    files = sorted(glob.glob(pattern))
    if not files:
        sys.exit(f"no file matches {pattern}")
    per_file = []
    for f in files:
        rows = [json.loads(line) for line in open(f)]
        per_file.append({(r["user"], r["position"]): r for r in rows})
    events = sorted(per_file[0])
    for f, rows in zip(files, per_file):
        if sorted(rows) != events:
            sys.exit(f"{f} holds other test events than {files[0]}: not the same split")
    ranks = np.array([[rows[e]["rank"] for e in events] for rows in per_file])  # 0-based, as evaluate.py counts
    return Runs(files, events, hits(ranks, K), ndcg_gains(ranks, K), per_file[0])


def relative_gap_interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                          draws: int) -> tuple[float, float, float]:
    """a, b [events] per-event values of two models: mean(a) / mean(b) - 1 and its 95 % bootstrap interval over
    events (resampled together: the pairing kept)."""
    gap = a.mean() / b.mean() - 1.0 if b.mean() > 0 else math.nan
    idx = rng.integers(0, len(a), size=(draws, len(a)))
    sa, sb = a[idx].mean(1), b[idx].mean(1)
    boot = sa[sb > 0] / sb[sb > 0] - 1.0
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (math.nan, math.nan)
    return float(gap), float(lo), float(hi)


def segments(facts: dict, events: list[tuple[str, int]]) -> list[tuple[str, np.ndarray]]:
    """(name, boolean mask over events): all, by seconds since the previous event, by history-length quartile."""
    out = [("all test events", np.ones(len(events), bool))]
    gaps = np.array([facts[e]["seconds_since_previous"] if facts[e]["seconds_since_previous"] is not None else -1
                     for e in events], dtype=np.float64)
    if (gaps >= 0).any():
        out += [(name, (gaps >= lo) & (gaps <= hi)) for name, lo, hi in GAP_SEGMENTS]
    history = np.array([facts[e]["history"] for e in events])
    q1, q2, q3 = (int(x) for x in np.quantile(history, [0.25, 0.5, 0.75]))
    for lo, hi in ((int(history.min()), q1 - 1), (q1, q2 - 1), (q2, q3 - 1), (q3, int(history.max()))):
        out.append((f"history of {lo}–{hi} events", (history >= lo) & (history <= hi)))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", help="glob of model A's --ranks-out files (one per seed)")
    p.add_argument("b", help="glob of model B's files, on the same test events")
    p.add_argument("--draws", type=int, default=4000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    a, b = read_runs(args.a), read_runs(args.b)
    if a.events != b.events:
        sys.exit("the two models were tested on different events: not the same split")
    rng = np.random.default_rng(args.seed)
    print(f"A: {len(a.files)} runs ({', '.join(a.files)})\nB: {len(b.files)} runs ({', '.join(b.files)})")
    print(f"per event: HR@{K} and NDCG@{K} averaged over each model's runs; gap = A / B - 1, 95 % interval by "
          f"resampling users ({args.draws} draws), the runs fixed\n")
    print(f"| events | n | A HR@{K} | B HR@{K} | gap (95 %) | A NDCG@{K} | B NDCG@{K} | gap (95 %) |")
    print("|---|---|---|---|---|---|---|---|")
    ah, bh, an, bn = a.hit.mean(0), b.hit.mean(0), a.ndcg.mean(0), b.ndcg.mean(0)
    for name, mask in segments(a.facts, a.events):
        if not mask.any():
            continue
        cells = [f"{name}", f"{int(mask.sum())}"]
        for x, y in ((ah, bh), (an, bn)):
            gap, lo, hi = relative_gap_interval(x[mask], y[mask], rng, args.draws)
            cells += [f"{x[mask].mean():.4f}", f"{y[mask].mean():.4f}", f"{gap:+.1%} ({lo:+.1%} .. {hi:+.1%})"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
