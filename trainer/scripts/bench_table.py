"""Summarize build/bench/*.json (written by scripts/bench.sh and reference_sasrec --metrics-out) as a
markdown table: one row per run name (file name without -s<seed>), mean ± sd and (min..max) over seeds.
Usage: .venv/bin/python scripts/bench_table.py [build/bench] [glob, e.g. 'ml-100k-*s6*.json'] [--compare A B]

--compare A B (two run names of the table) adds A's relative gap over B per metric with its 95 % interval: Welch's
t interval of the difference of the two seed means, divided by B's mean. Why: a gap of a few percent between two
runs whose seeds spread by as much is no gap; the interval says whether the seeds tell the two apart at all, and
whether a target such as "≥ 5 % over B" is inside what they allow."""
import argparse
import json
from collections import defaultdict
from pathlib import Path

KEYS = ["hr@10", "ndcg@10", "hr@50", "ndcg@50", "mrr", "auc"]

# Student's t, two-sided 95 % (the 0.975 quantile), by degrees of freedom 1..30; 2.0 up to 120, then 1.96.
T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t_975(df: float) -> float:
    """The quantile at the largest whole df not above df: a fractional Welch df rounds to the wider interval."""
    whole = max(1, int(df))
    return T_975[whole - 1] if whole <= len(T_975) else (2.0 if whole <= 120 else 1.96)


def mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = (sum((x - mean) ** 2 for x in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return mean, sd


def relative_gap(a: list[float], b: list[float]) -> tuple[float, float, float] | None:
    """(mean(a) / mean(b) - 1, low, high): Welch's 95 % interval of mean(a) - mean(b), over mean(b).
    None when either side has fewer than two seeds (no spread, no interval)."""
    if len(a) < 2 or len(b) < 2:
        return None
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    va, vb = sa ** 2 / len(a), sb ** 2 / len(b)
    se = (va + vb) ** 0.5
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else float("inf")
    half = t_975(df) * se
    return (ma - mb) / mb, (ma - mb - half) / mb, (ma - mb + half) / mb


def unfinished(m: dict) -> bool:
    """Stopped on request (SIGUSR1) before its patience or its epochs; older JSONs do not say."""
    return m.get("ended") == "request"


def values(ms: list[dict], key: str) -> list[float]:
    """The runs' test metric `key`, where defined (null: e.g. AUC on a log without negative labels)."""
    return [m["test"][key] for m in ms if m["test"].get(key) is not None]


def print_runs(runs: dict[str, list[dict]]) -> None:
    print("| run | seeds | " + " | ".join(k.upper() + " mean ± sd (min..max)" for k in KEYS) + " | epochs run (selected) | train time |")
    print("|---|---|" + "---|" * len(KEYS) + "---|---|")
    for name, ms in sorted(runs.items()):
        cells = []
        for k in KEYS:
            v = values(ms, k)
            if not v:
                cells.append("–")
                continue
            mean, sd = mean_sd(v)
            cells.append(f"{mean:.4f}" + (f" ± {sd:.4f} ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
        sel = ",".join(str(m["selected_epoch"]) for m in ms)
        secs = ",".join(f"{m['train_seconds']:.0f}s" for m in ms)
        ran = ",".join(str(m.get("epochs_run", len(m.get("history", [])))) + ("*" if unfinished(m) else "")
                       for m in ms)
        print(f"| {name} | {len(ms)} | " + " | ".join(cells) + f" | {ran} ({sel}) | {secs} |")
    if any(unfinished(m) for ms in runs.values() for m in ms):
        print("\n\\* stopped on request before its patience or its epochs: unfinished (the same bench.sh command resumes it)")


def print_comparison(runs: dict[str, list[dict]], a: str, b: str) -> None:
    for name in (a, b):
        if name not in runs:
            raise SystemExit(f"--compare: no run named {name!r} in this table (runs: {', '.join(sorted(runs))})")
    print(f"\n| {a} over {b} | seeds | relative gap of the means | 95 % interval (Welch) |")
    print("|---|---|---|---|")
    for k in KEYS:
        va, vb = values(runs[a], k), values(runs[b], k)
        if not va or not vb:
            continue
        gap = relative_gap(va, vb)
        interval = "– (needs 2 seeds a side)" if gap is None else f"{gap[1]:+.1%} .. {gap[2]:+.1%}"
        point = (sum(va) / len(va)) / (sum(vb) / len(vb)) - 1
        print(f"| {k.upper()} | {len(va)} / {len(vb)} | {point:+.1%} | {interval} |")


def print_search(runs: dict[str, list[dict]]) -> None:
    """Personalized search runs (--search-queries): the three rankers of the search test, per run."""
    searched = {key: [m for m in ms if m.get("search")] for key, ms in runs.items()}
    searched = {key: ms for key, ms in searched.items() if ms}
    if not searched:
        return
    print("\n| run | seeds | ranker | HR@10 | NDCG@10 | HR@50 | MRR |")
    print("|---|---|---|---|---|---|---|")
    for name, ms in sorted(searched.items()):
        for ranker in ("model", "model_no_history", "bm25"):
            cells = []
            for k in ("hr@10", "ndcg@10", "hr@50", "mrr"):
                v = [m["search"][ranker][k] for m in ms]
                cells.append(f"{sum(v) / len(v):.4f}" + (f" ({min(v):.4f}..{max(v):.4f})" if len(v) > 1 else ""))
            print(f"| {name} | {len(ms)} | {ranker} | " + " | ".join(cells) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", default="build/bench")
    p.add_argument("pattern", nargs="?", default="*.json")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="A's relative gap over B with its 95 %% interval")
    args = p.parse_args()
    runs: dict[str, list[dict]] = defaultdict(list)
    for f in sorted(Path(args.root).glob(args.pattern)):
        runs[f.stem.rsplit("-s", 1)[0]].append(json.loads(f.read_text()))  # <dataset>-<preset>[-<tag>]-s<seed>
    print_runs(runs)
    if args.compare:
        print_comparison(runs, *args.compare)
    print_search(runs)


if __name__ == "__main__":
    main()
