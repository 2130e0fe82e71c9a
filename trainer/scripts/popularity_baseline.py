"""Reference point under the same protocol: rank the catalogue by training-set popularity
(count of each item among the training targets' events, i.e. each user's events without the
last two), history excluded, ties pessimistic. Usage: popularity_baseline.py DATASET DATA_DIR [WINDOW_DAYS [past]]
With WINDOW_DAYS (data with timestamps): popularity at the time of each request instead, counted among the training
events within WINDOW_DAYS of the held-out event's time (other users' later events included, as leave-one-out trains
on them), ties by the overall count: how much a signal of absolute time could add that a sequence model lacks.
With `past`: only the WINDOW_DAYS before the held-out event, which is all a served model could know at request time;
the difference to both sides is what leave-one-out's view of other users' future lends such a signal."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from genrec_trainer.data import build_vocab, group_by_user, history_items_of, item_index, target_counts
from genrec_trainer.datasets import load_dataset
from genrec_trainer.evaluate import make_split, rank_metrics, target_ranks

name, data_dir = sys.argv[1], sys.argv[2]
ds = load_dataset(name, data_dir)
actions = sorted({e.action for e in ds.events})
seqs = group_by_user(ds.events, item_index(ds.items), actions, build_vocab([], []), 1)
split, info = make_split(seqs, "beauty" if name in ("beauty", "scientific") else "movielens")
counts = target_counts(seqs, split.train, len(ds.items))
scores = np.tile(counts, (len(split.test), 1)).astype(np.float64)
if len(sys.argv) > 3:
    window = float(sys.argv[3]) * 86400
    after = 0 if sys.argv[4:5] == ["past"] else window
    times = np.array([seqs[u].timestamps[t] for u, t in split.train])
    items = np.array([seqs[u].items[t] for u, t in split.train])
    order = np.argsort(times, kind="stable")
    times, items = times[order], items[order]
    for row, (u, t) in enumerate(split.test):
        at = seqs[u].timestamps[t]
        near = items[np.searchsorted(times, at - window):np.searchsorted(times, at + after, side="right")]
        scores[row] = np.bincount(near, minlength=len(counts)) + counts * 1e-6
targets = np.array([seqs[u].items[t] for u, t in split.test])
r = target_ranks(scores, targets, history_items_of(seqs, split.test))
print({"users": len(r), **{k: round(v, 4) for k, v in rank_metrics(r).items()}})
