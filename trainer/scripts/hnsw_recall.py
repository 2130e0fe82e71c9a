"""HNSW recall for a dot-product model's catalogue (`--similarity dot`, mapped `maximum_inner_product`), against the
same vectors reduced to the unit sphere: x' = [x, sqrt(M^2 - |x|^2)] / M with M the largest norm, queried with
[q / |q|, 0] on a `dot_product` field, which orders items exactly as q . x (the classic MIPS-to-nearest-neighbour
reduction); and, for comparison, the same items normalized (a cosine model's geometry: `dot_product` on unit rows,
ranked against the exact cosine order). All three fields live in one index (one shard, the same segments); each
query's `genrec_knn` top k (k = 100 candidates, the `genrec` query's default) is compared with the exact top k by
numpy. Queries: a seeded sample of the item embeddings themselves, a stand-in for user vectors (tied embeddings put
both in one space). Then recall@100 with 200, 400 and 1000 candidates (mip and cosine, the first 1,000 queries). A
probe, not the product (BENCHMARKS.md, "Amazon Beauty, session 58"). Against a fresh local node, from the
repository root:

    ( BUNDLE=/tmp/beauty-s1-bundle MODEL=beauty GENREC_BENCH_PORT=9281 && source scripts/bench-node.sh && \
      trainer/.venv/bin/python trainer/scripts/hnsw_recall.py "$URL" "$BUNDLE" 3000 )
"""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import numpy as np

K = 100


def unit_sphere(emb: np.ndarray) -> np.ndarray:
    """[N, D] -> [N, D + 1] unit rows whose dot product with [q / |q|, 0] is q . x / (|q| M): q . x's order."""
    norms = np.linalg.norm(emb, axis=1)
    big = float(norms.max())
    lifted = np.concatenate([emb, np.sqrt(np.maximum(big * big - norms ** 2, 0))[:, None]], axis=1) / big
    return (lifted / np.linalg.norm(lifted, axis=1, keepdims=True)).astype(np.float32)


def call(url: str, method: str, path: str, body: dict | bytes | None = None) -> dict:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    kind = "application/x-ndjson" if isinstance(body, bytes) else "application/json"
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": kind})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def index_fields(url: str, emb: np.ndarray, unit: np.ndarray, cosine: np.ndarray) -> None:
    try:
        call(url, "DELETE", "/recall")
    except urllib.error.HTTPError:
        pass
    d = emb.shape[1]
    settings = {"number_of_shards": 1, "number_of_replicas": 0}
    call(url, "PUT", "/recall", {"settings": settings, "mappings": {"properties": {
        "id": {"type": "integer"},
        "mip": {"type": "genrec_vector", "dimension": d, "similarity": "maximum_inner_product"},
        "unit": {"type": "genrec_vector", "dimension": d + 1, "similarity": "dot_product"},
        "cosine": {"type": "genrec_vector", "dimension": d, "similarity": "dot_product"}}}})
    for start in range(0, len(emb), 2000):
        lines = []
        for i in range(start, min(start + 2000, len(emb))):
            lines += [json.dumps({"index": {"_index": "recall", "_id": str(i)}}),
                      json.dumps({"id": i, "mip": emb[i].tolist(), "unit": unit[i].tolist(),
                                  "cosine": cosine[i].tolist()})]
        assert not call(url, "POST", "/_bulk", ("\n".join(lines) + "\n").encode())["errors"]
    call(url, "POST", "/recall/_refresh")
    shards = call(url, "GET", "/recall/_segments")["indices"]["recall"]["shards"].values()
    print(f"{len(emb)} items indexed, {sum(len(s[0]['segments']) for s in shards)} segments")


def knn(url: str, field: str, vector: np.ndarray, candidates: int = K) -> list[int]:
    """The best K of `candidates` HNSW candidates (what the genrec query's num_candidates does), best first."""
    query = {"genrec_knn": {"field": field, "vector": vector.tolist(), "k": candidates}}
    hits = call(url, "POST", "/recall/_search", {"size": candidates, "_source": ["id"], "query": query})["hits"]["hits"]
    return [hit["_source"]["id"] for hit in hits][:K]


def main(url: str, bundle: str, queries: int) -> None:
    manifest = json.load(open(f"{bundle}/manifest.json"))
    emb = np.fromfile(f"{bundle}/item_embeddings.f32", dtype=np.float32).reshape(-1, manifest["embedding_dim"])
    norms = np.linalg.norm(emb, axis=1)
    print(f"item norms min / median / max {norms.min():.3f} / {np.median(norms):.3f} / {norms.max():.3f}")
    cosine = (emb / norms[:, None]).astype(np.float32)
    index_fields(url, emb, unit_sphere(emb), cosine)
    sample = np.random.default_rng(0).choice(len(emb), size=min(queries, len(emb)), replace=False)
    sums = {field: {"recall@100": 0.0, "recall@10": 0.0, "exact top 1 found": 0.0}
            for field in ("mip", "unit", "cosine")}
    for n, i in enumerate(sample, 1):
        q = emb[i]
        exact_dot = np.argsort(-(emb @ q), kind="stable")[:K].tolist()
        exact_cosine = np.argsort(-(cosine @ cosine[i]), kind="stable")[:K].tolist()
        lifted = np.append(q / np.linalg.norm(q), 0.0).astype(np.float32)
        fields = (("mip", q, exact_dot), ("unit", lifted, exact_dot), ("cosine", cosine[i], exact_cosine))
        for field, vector, exact in fields:
            found = knn(url, field, vector)
            sums[field]["recall@100"] += len(set(found) & set(exact)) / K
            sums[field]["recall@10"] += len(set(found[:10]) & set(exact[:10])) / 10
            sums[field]["exact top 1 found"] += exact[0] in found
        if n % 1000 == 0 or n == len(sample):
            print(n, {field: {k: round(v / n, 5) for k, v in s.items()} for field, s in sums.items()}, flush=True)
    few = sample[:1000]
    for candidates in (200, 400, 1000):
        recall = {"mip": 0.0, "cosine": 0.0}
        for i in few:
            for field, vectors in (("mip", emb), ("cosine", cosine)):
                exact = set(np.argsort(-(vectors @ vectors[i]), kind="stable")[:K].tolist())
                recall[field] += len(set(knn(url, field, vectors[i], candidates)) & exact) / K
        print(f"{candidates} candidates, {len(few)} queries: recall@100",
              {field: round(v / len(few), 5) for field, v in recall.items()}, flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
