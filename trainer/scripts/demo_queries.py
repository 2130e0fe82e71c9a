"""Sends the demo's two genrec queries for a sample user and prints the hits with their titles.

The sample user is the history of the bundle's first golden recommendation case, so the printed
hits can be compared with what the trainer itself ranks (golden.json, ranked_top10).
"""
import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path


def search(url, body):
    request = urllib.request.Request(f"{url}/items/_search", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"genrec query failed: HTTP {e.code} {e.read().decode()}")


def show(title, result):
    print(f"\n{title}")
    for rank, hit in enumerate(result["hits"]["hits"], 1):
        source = hit["_source"]
        print(f"  {rank:2d}. {source['item_id']:>6}  {hit['_score']:.3f}  {source['title']}  {source['categories']}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--query", help="search text for the personalized search (default: from golden.json)")
    args = parser.parse_args()

    golden = json.loads((args.bundle / "golden.json").read_text())["cases"]
    titles = {}
    for line in (args.bundle / "items.jsonl").read_text().splitlines():
        item = json.loads(line)
        titles[item["item_id"]] = item["title"]
    user = next(c["request"] for c in golden if not c["request"].get("query") and c["request"]["history"])
    query = args.query or next(c["request"]["query"] for c in golden if c["request"].get("query"))

    print("Sample user's latest events:")
    for event in user["history"][-8:]:
        text = f"  {event['action']:>8}  {event['item']:>6}  {titles.get(event['item'], '?')}"
        print(text + (f"   (searched: {event['query']!r})" if event.get("query") else ""))

    genrec = {"model": "synthetic", "vector_field": "item_vector", "history": user["history"],
              "k": 50, "request_time": user["request_time"]}
    fields = ["item_id", "title", "categories"]
    show("Recommendation (no query):", search(args.url, {"size": 10, "_source": fields, "query": {"genrec": genrec}}))
    show(f"Personalized search for {query!r}:",
         search(args.url, {"size": 10, "_source": fields, "query": {"genrec": {**genrec, "query": query}}}))


if __name__ == "__main__":
    main()
