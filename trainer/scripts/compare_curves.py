"""Validation curves of several runs in one PNG, epoch by epoch: which model learns faster, and which is still
improving where another stopped (the comparison "at equal epochs" of BENCHMARKS.md's ml-1m-part sections).
Reads the --metrics-out JSON of train.py / reference_sasrec (build/bench/*.json); a run's label is its file name.
Usage: .venv/bin/python scripts/compare_curves.py OUT.png [--metric valid_ndcg@10] RUN.json..."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("runs", nargs="+")
p.add_argument("--metric", default="valid_ndcg@10")
args = p.parse_args()

fig, ax = plt.subplots(figsize=(8, 4.5))
for run in args.runs:
    m = json.loads(Path(run).read_text())
    points = [(h["epoch"], h[args.metric]) for h in m["history"] if args.metric in h]
    line, = ax.plot(*zip(*points), label=f"{Path(run).stem} (test {m['test'].get('ndcg@10', float('nan')):.4f} "
                                          f"NDCG@10 at epoch {m['selected_epoch']})")
    ax.plot(m["selected_epoch"], dict(points)[m["selected_epoch"]], "o", color=line.get_color())  # the tested epoch
ax.set_xlabel("epoch")
ax.set_ylabel(args.metric.replace("_", " "))
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(args.out, dpi=100)
print(f"written {args.out}")
