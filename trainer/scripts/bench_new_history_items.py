"""What reading items added after training in a history costs a request (issue 6), on a live node.

A genrec recommendation (k 100, ranked on the shards, window 100) whose history names NEW items the model was not
trained on, which the model reads by their text, is timed alternately with the same request whose history holds trained
items only, in two variants: the new items are the ones the previous request named, so the coordinating node has their
text in its cache (genrec.new_item_text_cache), or they are items no request named before, so it searches the index for
them (one terms search). The new items are copies of trained items' text under new ids, written through the
genrec_item_embedding pipeline. Before timing, one request's explanation must show that every new item was read (none
ignored), and after it the node's searches must number the searched variant's requests. Client-side wall time over one
keep-alive HTTP connection, one request at a time; the HTTP and JSON overhead is in every variant alike.

  scripts/bench-new-history-items.sh runs it on a fresh node; by hand, against a node serving BUNDLE as MODEL:
  python scripts/bench_new_history_items.py --bundle B --model M --url http://127.0.0.1:9200 --index items --out r.json
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import time
import urllib.parse
from pathlib import Path

import numpy as np


class Node:
    def __init__(self, url: str):
        parsed = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port or 9200, timeout=60)

    def call(self, method: str, path: str, body: object | str | None = None) -> dict:
        data = body if isinstance(body, str) or body is None else json.dumps(body)
        headers = {"Content-Type": "application/x-ndjson" if path.startswith("/_bulk") else "application/json"}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: HTTP {response.status} {payload[:500]!r}")
        return json.loads(payload) if payload else {}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--model", required=True)
    p.add_argument("--url", default="http://127.0.0.1:9200")
    p.add_argument("--index", default="items")
    p.add_argument("--history", type=int, default=200, help="events per history")
    p.add_argument("--new", type=int, nargs="+", default=[1, 10, 50], help="how many of them are new items (one run each)")
    p.add_argument("--requests", type=int, default=300, help="timed requests per variant and run")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    rng = random.Random(args.seed)
    node = Node(args.url)

    items = [json.loads(line) for line in (args.bundle / "items.jsonl").read_text().splitlines()]
    actions = json.loads((args.bundle / "manifest.json").read_text())["actions"]
    most = max(args.new)
    # Block 0 is read by every cached request; block r + 1 by the r-th searched request alone.
    blocks = [[f"bench-new-{b}-{i}" for i in range(most)] for b in range(args.requests + args.warmup + 1)]
    node.call("PUT", "/_ingest/pipeline/genrec-bench-new-items",
              {"processors": [{"genrec_item_embedding": {"model": args.model}}]})
    for block_start in range(0, len(blocks), 100):
        bulk = []
        for new_id in (i for block in blocks[block_start:block_start + 100] for i in block):
            like = rng.choice(items)
            bulk.append(json.dumps({"index": {"_index": args.index, "_id": new_id}}))
            bulk.append(json.dumps({"item_id": new_id, "title": like["title"], "categories": like["categories"]}))
        result = node.call("POST", "/_bulk?pipeline=genrec-bench-new-items", "\n".join(bulk) + "\n")
        if result.get("errors"):
            raise SystemExit(f"indexing the new items failed: {json.dumps(result)[:500]}")
    node.call("POST", f"/{args.index}/_refresh")

    now = 1_700_000_000
    histories = []
    for _ in range(args.requests + args.warmup):
        picks = rng.sample(items, args.history)
        histories.append([{"item": it["item_id"], "action": rng.choice(actions), "time": now - 600 * (args.history - j)}
                          for j, it in enumerate(picks)])

    def request(history: list[dict], explain: bool = False) -> dict:
        body = {"size": 10, "_source": False, "explain": explain,
                "query": {"genrec": {"model": args.model, "vector_field": "item_vector", "history": history, "k": 100,
                                     "rank": {"enabled": True, "window": 100}, "request_time": now}}}
        return node.call("POST", f"/{args.index}/_search", body)

    def searches() -> int:
        nodes = node.call("GET", "/_plugins/_genrec/models")["nodes"]
        return sum(n["new_item_texts"]["searches"] for n in nodes.values())

    runs = []
    for new in args.new:
        def with_new(history: list[dict], block: list[str]) -> list[dict]:  # the latest `new` events name new items
            return history[:-new] + [dict(e, item=block[j]) for j, e in enumerate(history[-new:])]

        explained = request(with_new(histories[0], blocks[0]), explain=True)["hits"]["hits"][0]["_explanation"]
        if "could not read by their text): 0" not in json.dumps(explained):
            raise SystemExit(f"the new items were not all read: {json.dumps(explained)[:800]}")
        cached, searched = f"{new} new items, cached", f"{new} new items, searched"
        times = {"trained items only": [], cached: [], searched: []}
        searches_before = searches()
        for r, history in enumerate(histories):
            variants = (("trained items only", history), (cached, with_new(history, blocks[0])),
                        (searched, with_new(history, blocks[r + 1])))
            for label, h in variants[r % 3:] + variants[:r % 3]:  # each variant first in turn
                start = time.perf_counter()
                request(h)
                if r >= args.warmup:
                    times[label].append((time.perf_counter() - start) * 1e3)
        made = searches() - searches_before
        if made != len(histories):
            raise SystemExit(f"{made} searches for new items' text, expected one per searched request ({len(histories)})")
        summary = {label: {"p50_ms": round(float(np.percentile(t, 50)), 3), "p90_ms": round(float(np.percentile(t, 90)), 3),
                           "p99_ms": round(float(np.percentile(t, 99)), 3), "requests": len(t)} for label, t in times.items()}
        runs.append({"new_items": new, "searches": made, "latency": summary})
        print(json.dumps(runs[-1]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"history": args.history, "k": 100, "window": 100, "index": args.index, "runs": runs},
                                   indent=1) + "\n")


if __name__ == "__main__":
    main()
