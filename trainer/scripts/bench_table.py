"""Summarize build/bench/*.json (written by scripts/bench.sh) as a markdown table:
one row per (dataset, preset), mean and spread (min..max) over seeds.
Usage: .venv/bin/python scripts/bench_table.py [build/bench]"""
import json
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
runs = defaultdict(list)
for f in sorted(root.glob("*.json")):
    m = json.loads(f.read_text())
    dataset, preset, _ = f.stem.rsplit("-", 2)
    runs[(dataset, preset)].append(m)
keys = ["hr@10", "ndcg@10", "hr@50", "ndcg@50", "mrr", "auc"]
print("| data | model | seeds | " + " | ".join(k.upper() for k in keys) + " | epochs run (selected) | train time |")
print("|---|---|---|" + "---|" * len(keys) + "---|---|")
for (dataset, preset), ms in sorted(runs.items()):
    cells = []
    for k in keys:
        v = [m["test"][k] for m in ms]
        mean = sum(v) / len(v)
        cells.append(f"{mean:.4f}" + (f" ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
    sel = ",".join(str(m["selected_epoch"]) for m in ms)
    secs = ",".join(f"{m['train_seconds']:.0f}s" for m in ms)
    ran = ",".join(str(m.get("epochs_run", m["epochs"])) for m in ms)
    print(f"| {dataset} | {preset} | {len(ms)} | " + " | ".join(cells) + f" | {ran} ({sel}) | {secs} |")

# Personalized search runs (--search-queries): the three rankers of the search test, per run.
searched = {key: [m for m in ms if m.get("search")] for key, ms in runs.items()}
searched = {key: ms for key, ms in searched.items() if ms}
if searched:
    print("\n| data | model | seeds | ranker | HR@10 | NDCG@10 | HR@50 | MRR |")
    print("|---|---|---|---|---|---|---|---|")
    for (dataset, preset), ms in sorted(searched.items()):
        for ranker in ("model", "model_no_history", "bm25"):
            cells = []
            for k in ("hr@10", "ndcg@10", "hr@50", "mrr"):
                v = [m["search"][ranker][k] for m in ms]
                cells.append(f"{sum(v) / len(v):.4f}" + (f" ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
            print(f"| {dataset} | {preset} | {len(ms)} | {ranker} | " + " | ".join(cells) + " |")
