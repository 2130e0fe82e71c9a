"""Sends the demo's two genrec queries for a sample user and prints the hits with their titles, then adds an
item the model was not trained on and shows where the same recommendation ranks it.

The sample user is the history of the bundle's first golden recommendation case, so the printed
hits can be compared with what the trainer itself ranks (golden.json, ranked_top10).
"""
import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path


def call(url, method, path, body):
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path} failed: HTTP {e.code} {e.read().decode()}")


def search(url, body):
    return call(url, "POST", "/items/_search", body)


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
    recommended = search(args.url, {"size": 10, "_source": fields, "query": {"genrec": genrec}})
    show("Recommendation (no query):", recommended)
    show(f"Personalized search for {query!r}:",
         search(args.url, {"size": 10, "_source": fields, "query": {"genrec": {**genrec, "query": query}}}))

    # An item added after training: the genrec_item_embedding pipeline gives it a vector from its text, and the
    # query ranks it from its text too. Made here to resemble the top recommendation, under an id the model never saw.
    top = recommended["hits"]["hits"][0]["_source"]
    new_item = {"item_id": "new-1", "title": f"{top['title']} deluxe", "categories": top["categories"]}
    call(args.url, "PUT", "/_ingest/pipeline/genrec-items",
         {"processors": [{"genrec_item_embedding": {"model": "synthetic"}}]})
    call(args.url, "PUT", "/items/_doc/new-1?pipeline=genrec-items&refresh=true", new_item)
    after = search(args.url, {"size": 50, "_source": fields, "query": {"genrec": genrec}})
    at = next((rank for rank, hit in enumerate(after["hits"]["hits"], 1) if hit["_id"] == "new-1"), None)
    print(f"\nAdded after training: new-1 {new_item['title']!r} {new_item['categories']}, through the genrec-items pipeline;")
    print(f"the same recommendation now ranks it {'#' + str(at) if at else 'below the first 50'}, embedded and ranked from its text alone")
    print("(the model was trained with --item-id-dropout, which teaches it to: README \"Items added after training\").")

    # The user then interacts with it: the next request's history names new-1, whose text the coordinating node reads
    # from the items index, so the model reads the event instead of leaving it out.
    event = {"item": "new-1", "action": user["history"][-1]["action"], "time": user["request_time"]}
    show("Recommendation after the user's event on new-1 (read by its text):",
         search(args.url, {"size": 10, "_source": fields,
                           "query": {"genrec": {**genrec, "history": user["history"] + [event],
                                                "request_time": user["request_time"] + 60}}}))


if __name__ == "__main__":
    main()
