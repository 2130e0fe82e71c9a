"""The trainer's BM25 over a search log (train.py --search-log-out), its ties broken two ways: by training popularity
(the trainer's search test) or by index order (Lucene's, by document id: the bundle's item order, in which
genrec-tools index-items writes them). Separates what the tie-break explains of the gap between the trainer's BM25 and
OpenSearch's (BENCHMARKS.md, "The rescorer over OpenSearch's BM25").

    .venv/bin/python scripts/bm25_tie_orders.py BUNDLE SEARCHES.jsonl

Popularity here counts each user's events but the last two (the validation and test targets); ranks and metrics are the
trainer's (evaluate.target_ranks, ties pessimistic; rank_metrics). On the session-62 search logs the popularity row
gives the trainer's BM25 figures to the digit."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genrec_trainer.evaluate import rank_metrics, target_ranks  # noqa: E402
from genrec_trainer.schema import load_items, read_jsonl  # noqa: E402
from genrec_trainer.search import BM25, item_search_text, tiebreak  # noqa: E402


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(__doc__)
    bundle, log = argv
    items = load_items(Path(bundle) / "items.jsonl")
    index = {it.item_id: i + 1 for i, it in enumerate(items)}   # column 0 = padding, as in BM25.scores
    bm25 = BM25([item_search_text(it) for it in items])
    users: dict[str, list[dict]] = {}
    for e in read_jsonl(log):
        users.setdefault(e["user_id"], []).append(e)
    popularity = np.zeros(len(items) + 1)
    for events in users.values():
        for e in events[:-2]:                                    # all but the validation and test targets
            popularity[index[e["item_id"]]] += 1
    orders = {"popularity": tiebreak(popularity),
              "index order": tiebreak(np.arange(len(items) + 1, 0, -1, dtype=np.float64))}  # the lower document id first
    searches = list(users.values())
    targets = np.array([index[events[-1]["item_id"]] for events in searches])
    history = [np.array([index[e["item_id"]] for e in events[:-1]], np.int64) for events in searches]  # left out
    for name, order in orders.items():
        scores = np.stack([bm25.scores(events[-1]["query"]) + order for events in searches])
        m = rank_metrics(target_ranks(scores, targets, history))
        print(f"{name}: HR@10 {m['hr@10']:.4f} NDCG@10 {m['ndcg@10']:.4f} ({len(searches)} searches)")


if __name__ == "__main__":
    main(sys.argv[1:])
