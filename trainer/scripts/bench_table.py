"""Summarize build/bench/*.json (written by scripts/bench.sh and reference_sasrec --metrics-out) as a
markdown table: one row per run name (file name without -s<seed>), mean ± sd and (min..max) over seeds.
Usage: .venv/bin/python scripts/bench_table.py [build/bench] [glob, e.g. 'ml-100k-*s6*.json']"""
import json
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
pattern = sys.argv[2] if len(sys.argv) > 2 else "*.json"
runs = defaultdict(list)
for f in sorted(root.glob(pattern)):
    m = json.loads(f.read_text())
    runs[f.stem.rsplit("-s", 1)[0]].append(m)  # <dataset>-<preset>[-<tag>]-s<seed>: one row per run name
def unfinished(m: dict) -> bool:
    """Stopped on request (SIGUSR1) before its patience or its epochs; older JSONs do not say."""
    return m.get("ended") == "request"


keys = ["hr@10", "ndcg@10", "hr@50", "ndcg@50", "mrr", "auc"]
print("| run | seeds | " + " | ".join(k.upper() + " mean ± sd (min..max)" for k in keys) + " | epochs run (selected) | train time |")
print("|---|---|" + "---|" * len(keys) + "---|---|")
for name, ms in sorted(runs.items()):
    cells = []
    for k in keys:
        v = [m["test"][k] for m in ms if k in m["test"]]
        if not v:
            cells.append("–")
            continue
        mean = sum(v) / len(v)
        sd = (sum((x - mean) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
        cells.append(f"{mean:.4f}" + (f" ± {sd:.4f} ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
    sel = ",".join(str(m["selected_epoch"]) for m in ms)
    secs = ",".join(f"{m['train_seconds']:.0f}s" for m in ms)
    ran = ",".join(str(m.get("epochs_run", len(m.get("history", [])))) + ("*" if unfinished(m) else "")
                   for m in ms)
    print(f"| {name} | {len(ms)} | " + " | ".join(cells) + f" | {ran} ({sel}) | {secs} |")
if any(unfinished(m) for ms in runs.values() for m in ms):
    print("\n\\* stopped on request before its patience or its epochs: unfinished (the same bench.sh command resumes it)")

# Personalized search runs (--search-queries): the three rankers of the search test, per run.
searched = {key: [m for m in ms if m.get("search")] for key, ms in runs.items()}
searched = {key: ms for key, ms in searched.items() if ms}
if searched:
    print("\n| run | seeds | ranker | HR@10 | NDCG@10 | HR@50 | MRR |")
    print("|---|---|---|---|---|---|---|")
    for name, ms in sorted(searched.items()):
        for ranker in ("model", "model_no_history", "bm25"):
            cells = []
            for k in ("hr@10", "ndcg@10", "hr@50", "mrr"):
                v = [m["search"][ranker][k] for m in ms]
                cells.append(f"{sum(v) / len(v):.4f}" + (f" ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
            print(f"| {name} | {len(ms)} | {ranker} | " + " | ".join(cells) + " |")
