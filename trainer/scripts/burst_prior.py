"""Does a co-rating prior add to a model's retrieval? Offline, from the `--scores-out` files of finished runs.

Why: on MovieLens 44 % of the test events were logged in the same second as the event before (a user rating a page
of films at once), and there the time-aware model has no lead (scripts/paired_ranks.py). Items rated in one second
come from one page, so which items other users rated in the same second as the request's latest items ("co-burst"
counts, from the training events only) may say what the page held. This script fuses the prior with each run's
scores, score + w * log(1 + sum of the latest second's co-burst counts), picks w on the validation requests (NDCG@10,
per run, as a served model would be tuned), and reports the test metrics it gives, all and by time since the event
before, and how many items the prior reads a request. `--prior window` uses plain co-occurrence within 5 positions
instead, to see whether the second matters.
`--top M` fuses only within the model's top M, as a served request's rescoring of its kNN hits could.
`--ranks-dir D` also writes each run's fused test ranks as D/<run>.<prior>-fused.ranks.jsonl, in `--ranks-out`'s
format, for scripts/paired_ranks.py.

  .venv/bin/python scripts/burst_prior.py ml-100k ../../shared/data/ml-100k 'build/bench/ml-100k-ours-s25tie4-s*.scores.npz'
"""
from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genrec_trainer.cooccurrence import CoOccurrence, context_items  # noqa: E402
from genrec_trainer.data import build_vocab, group_by_user, item_index, leave_one_out  # noqa: E402
from genrec_trainer.datasets import load_dataset  # noqa: E402
from genrec_trainer.evaluate import hits, ndcg_gains, ranks_of_targets  # noqa: E402
from genrec_trainer.train import action_list, last_training_positions, write_example_ranks  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0)
K = 10


WINDOW = 5   # --prior window: items logged at most this many events apart, the request's last this many events


def co_counts(seqs, train, num_items: int, span: int = 0) -> np.ndarray:
    """[I + 1, I + 1]: how often two items were logged by one user in the same second (span 0) or at most `span`
    events apart, over training events (the served term's counts, cooccurrence.py, with every partner kept)."""
    co = CoOccurrence.count(seqs, last_training_positions(train), num_items, neighbours=num_items, span=span)
    return np.stack([co.summed(np.array([i])) for i in range(num_items + 1)]).astype(np.float32)


def latest_items(seqs, u: int, t: int, max_history: int, prior: str) -> np.ndarray:
    """The request's items the prior reads: its latest second (burst) or its last WINDOW events (window)."""
    s = seqs[u]
    lo = max(0, t - max_history)
    return context_items(s.items[lo:t], s.timestamps[lo:t], WINDOW if prior == "window" else 0)


def prior_scores(seqs, examples: np.ndarray, counts: np.ndarray, max_history: int, prior: str) -> np.ndarray:
    return np.stack([np.log1p(counts[latest_items(seqs, u, t, max_history, prior)].sum(0)) for u, t, _ in examples])


def same_second(seqs, examples: np.ndarray) -> np.ndarray:
    return np.array([seqs[u].timestamps[t] == seqs[u].timestamps[t - 1] for u, t, _ in examples])


def context_sizes(seqs, examples: np.ndarray, max_history: int, prior: str) -> np.ndarray:
    """How many distinct items the prior reads of each request: a larger context spreads its counts wider."""
    return np.array([len(latest_items(seqs, u, t, max_history, prior)) for u, t, _ in examples])


def fuse(model: np.ndarray, prior: np.ndarray, w: float, top: int = 0) -> np.ndarray:
    """model + w * prior; with top M > 0 only within each row's model top M, the rest after it in model order: what a
    served request could do, reordering its kNN hits (the prior cannot steer Lucene's kNN itself)."""
    fused = model + w * prior
    if not top:
        return fused
    ranked = np.argsort(-model, axis=1, kind="stable")[:, :top]
    rows = np.arange(len(model))[:, None]
    out = model - 1.0   # below every top item: w and the prior are >= 0, so a fused top score >= its model score
    out[rows, ranked] = fused[rows, ranked]
    return out


def best_weight(model: np.ndarray, prior: np.ndarray, targets: np.ndarray, top: int = 0) -> tuple[float, float]:
    ndcgs = [(ndcg_gains(ranks_of_targets(fuse(model, prior, w, top), targets), K).mean(), w) for w in WEIGHTS]
    best, w = max(ndcgs)
    return w, best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset")
    p.add_argument("data_dir")
    p.add_argument("scores", nargs="+", help="globs of --scores-out files, one group per model")
    p.add_argument("--max-history", type=int, default=200)
    p.add_argument("--prior", choices=("burst", "window"), default="burst")
    p.add_argument("--top", type=int, default=0, metavar="M", help="fuse only within the model's top M (0: all)")
    p.add_argument("--ranks-dir", help="write each run's fused test ranks there (--ranks-out format)")
    args = p.parse_args()

    ds = load_dataset(args.dataset, args.data_dir)
    seqs = group_by_user(ds.events, item_index(ds.items), action_list(ds.events), build_vocab(ds.items, ds.events), 1)
    split = leave_one_out(seqs)
    counts = co_counts(seqs, split.train, len(ds.items), WINDOW if args.prior == "window" else 0)
    cache = {}
    for pattern in args.scores:
        files = sorted(glob.glob(pattern))
        if not files:
            sys.exit(f"no file matches {pattern}")
        within = f", within the model's top {args.top}" if args.top else ""
        print(f"== {pattern} ({len(files)} runs), prior: {args.prior}{within}")
        rows = []
        for f in files:
            saved = np.load(f)
            out = {}
            for split_name in ("valid", "test"):
                ex = saved[f"{split_name}_examples"]
                key = (split_name, ex.tobytes())
                if key not in cache:
                    cache[key] = (prior_scores(seqs, ex, counts, args.max_history, args.prior), same_second(seqs, ex),
                                  context_sizes(seqs, ex, args.max_history, args.prior))
                out[split_name] = (ex, saved[f"{split_name}_scores"].astype(np.float64), *cache[key])
            ex, model, prior, _, _ = out["valid"]
            w, valid_ndcg = best_weight(model, prior, ex[:, 2], args.top)
            ex, model, prior, same, sizes = out["test"]
            alone = ranks_of_targets(np.where(np.isneginf(model), -np.inf, prior), ex[:, 2])
            base, fused = ranks_of_targets(model, ex[:, 2]), ranks_of_targets(fuse(model, prior, w, args.top), ex[:, 2])
            row = [w]   # then HR@10, NDCG@10 of model, fused, prior alone, each over all / same-second / gapped events
            for r in (base, fused, alone):
                for seg in (np.ones_like(same), same, ~same):
                    row += [hits(r[seg], K).mean(), ndcg_gains(r[seg], K).mean()] if seg.any() else [np.nan, np.nan]
            rows.append(row)
            if args.ranks_dir:
                name = Path(f).name.removesuffix(".scores.npz") + f".{args.prior}-fused.ranks.jsonl"
                fused_ranks = [(int(u), int(t), int(r)) for (u, t, _), r in zip(ex, fused)]
                write_example_ranks(str(Path(args.ranks_dir) / name), fused_ranks, seqs, ds.items)
            print(f"{Path(f).name}: w {w} (valid NDCG@10 {valid_ndcg:.4f}) | test HR/NDCG@10 model "
                  f"{row[1]:.4f}/{row[2]:.4f} fused {row[7]:.4f}/{row[8]:.4f} prior alone {row[13]:.4f}/{row[14]:.4f}")
        m = np.mean(rows, 0)
        n_same = int(same.sum())
        timed = 0 < n_same < len(same)   # a log in order only has one "second": no split by time
        print(f"mean over runs (test, {len(same)} requests" + (f", {n_same} in the same second as the event before):"
                                                               if timed else "):"))
        print(f"  the prior reads {sizes.mean():.2f} items a request" + (
            f" ({sizes[same].mean():.2f} same second, {sizes[~same].mean():.2f} gap)" if timed else ""))
        for name, at in (("model", 1), ("fused", 7), ("prior alone", 13)):
            print(f"  {name:12s} all {m[at]:.4f}/{m[at + 1]:.4f}" + (f"  same second {m[at + 2]:.4f}/{m[at + 3]:.4f}  "
                                                                   f"gap {m[at + 4]:.4f}/{m[at + 5]:.4f}" if timed else ""))


if __name__ == "__main__":
    main()
