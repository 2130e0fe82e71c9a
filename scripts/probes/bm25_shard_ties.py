"""scripts/probe-bm25-shard-ties.sh's comparison: each user's text search on items1 (one shard) and on items3 (three
shards, dfs_query_then_fetch). Equal score lists mean the shard count changed only the order of equal scores."""
import json
import sys
import urllib.request
from collections import defaultdict


def post(url, path, body):
    request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["hits"]["hits"]


def rank_of(hits, item_id):
    return next((i for i, h in enumerate(hits) if h["_source"]["item_id"] == item_id), None)


def main(url, searches):
    by_user = defaultdict(list)
    with open(searches) as lines:
        for line in lines:
            if line.strip():
                event = json.loads(line)
                by_user[event["user_id"]].append(event)
    counts = defaultdict(int)
    for events in by_user.values():
        events.sort(key=lambda e: e["timestamp"])  # stable: equal timestamps in file order, as evaluate reads them
        if len(events) < 3:
            continue
        target, history = events[-1], events[:-1]
        body = {"size": 100, "_source": ["item_id"], "query": {"bool": {
            "must": {"combined_fields": {"query": target["query"], "fields": ["title", "categories.text"]}},
            "must_not": {"terms": {"item_id": sorted({e["item_id"] for e in history})}}}}}
        one = post(url, "/items1/_search", body)
        three = post(url, "/items3/_search?search_type=dfs_query_then_fetch", body)
        scores_one = [round(h["_score"], 4) for h in one]
        same_scores = scores_one == [round(h["_score"], 4) for h in three]
        rank_one, rank_three = rank_of(one, target["item_id"]), rank_of(three, target["item_id"])
        counts["users"] += 1
        counts["top100_scores_identical"] += same_scores
        counts["target_rank_moved"] += rank_one != rank_three
        counts["target_among_equal_scores_on_1_shard"] += rank_one is not None and scores_one.count(scores_one[rank_one]) > 1
        for cutoff in (10, 100):
            hit = [r is not None and r < cutoff for r in (rank_one, rank_three)]
            counts[f"hit_at_{cutoff}_changed_with_identical_scores"] += same_scores and hit[0] != hit[1]
            counts[f"hit_at_{cutoff}_on_1_shard"] += hit[0]
            counts[f"hit_at_{cutoff}_on_3_shards_dfs"] += hit[1]
    print(json.dumps(counts))


if __name__ == "__main__":
    main(*sys.argv[1:3])
