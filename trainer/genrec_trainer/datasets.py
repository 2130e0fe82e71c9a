"""Adapters: public benchmark files -> the one event schema (schema.Event / schema.Item).

Every loader takes a path and reads local files; nothing is downloaded. Each returns a
`Dataset` (items, events, has_timestamps). Data without timestamps gets timestamp 0 on every
event: group_by_user's stable sort then keeps file order (order-only; all ages are 0, so the
time signal carries nothing).

    ml-100k     DIR/u.data (user \\t item \\t rating \\t unix), DIR/u.item (latin-1, '|', 19 genre flags)
    ml-1m       DIR/ratings.dat if present, else DIR/ratings*.dat.gz ('::'), DIR/movies.dat (latin-1)
    beauty      DIR/Beauty.txt ('user item item ...' in time order), DIR/datamaps.json (ids -> ASINs)
    scientific  DIR/Scientific.inter.json ({user: [item, ...]} in time order), DIR/Scientific.item.json
    jdsearch    DIR/release_data.txt (or the sample's user_behavior_data_sample.txt), DIR/product_data.txt (or
                product_meta_data_sample.txt): JDsearch (Liu et al., SIGIR 2023), real queries as term ids
    generic     --events FILE --items FILE: JSON lines (.jsonl/.json), CSV (.csv), Parquet (.parquet,
                needs pandas + pyarrow); columns as in schema.py

MovieLens: action = "rate_<r>", label = 1 if rating >= 4 else 0; the catalogue is the movies that
occur in the ratings (as in the published ML-1M protocol: 3,706 of 3,883 movies).
"""
from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from .schema import Event, Item, event_from_dict, item_from_dict, read_jsonl

ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
                 "Thriller", "War", "Western"]
DATASETS = ("ml-100k", "ml-1m", "beauty", "scientific", "jdsearch")


@dataclass
class Dataset:
    name: str
    items: list[Item]
    events: list[Event]
    has_timestamps: bool
    notes: str = ""


def _open_text(path: Path, encoding: str):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _rating_event(user: str, item: str, rating: str, ts: str) -> Event:
    r = int(float(rating))
    return Event(user_id=user, item_id=item, action=f"rate_{r}", timestamp=int(ts), label=int(r >= 4))


def _only_rated(items: Sequence[Item], events: Sequence[Event]) -> list[Item]:
    rated = {e.item_id for e in events}
    return [it for it in items if it.item_id in rated]


def load_ml100k(data_dir: str | Path) -> Dataset:
    d = Path(data_dir)
    events = []
    with open(d / "u.data", encoding="latin-1") as f:
        for line in f:
            if line.strip():
                user, item, rating, ts = line.rstrip("\n").split("\t")
                events.append(_rating_event(user, item, rating, ts))
    items = []
    with open(d / "u.item", encoding="latin-1") as f:
        for line in f:
            if line.strip():
                parts = line.rstrip("\n").split("|")
                flags = parts[5:5 + len(ML100K_GENRES)]
                items.append(Item(parts[0], parts[1],
                                  tuple(g for g, flag in zip(ML100K_GENRES, flags) if flag == "1")))
    return Dataset("ml-100k", _only_rated(items, events), events, True)


def ml1m_ratings_file(data_dir: str | Path) -> Path:
    """The full ratings.dat when it is there, else the partial ratings*.dat.gz."""
    d = Path(data_dir)
    for cand in [d / "ratings.dat", d / "ratings.dat.gz", *sorted(d.glob("ratings*.dat.gz")),
                 *sorted(d.glob("ratings*.dat"))]:
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"no ratings.dat or ratings*.dat.gz in {d}")


def load_ml1m(data_dir: str | Path, ratings: str | Path | None = None) -> Dataset:
    d = Path(data_dir)
    rfile = Path(ratings) if ratings else ml1m_ratings_file(d)
    events = []
    with _open_text(rfile, "latin-1") as f:
        for line in f:
            if line.strip():
                user, item, rating, ts = line.strip().split("::")
                events.append(_rating_event(user, item, rating, ts))
    items = []
    with open(d / "movies.dat", encoding="latin-1") as f:
        for line in f:
            if line.strip():
                mid, title, genres = line.rstrip("\n").split("::")
                items.append(Item(mid, title, tuple(g for g in genres.split("|") if g)))
    return Dataset("ml-1m", _only_rated(items, events), events, True, notes=f"ratings file {rfile.name}")


def load_beauty(data_dir: str | Path) -> Dataset:
    """S3-Rec/P5 Beauty.txt: 'user item item ...' per line in time order, no timestamps, no text.
    datamaps.json maps the numeric ids to reviewerIDs / ASINs (used as ids when present)."""
    d = Path(data_dir)
    id2user: dict[str, str] = {}
    id2item: dict[str, str] = {}
    maps = d / "datamaps.json"
    if maps.is_file():
        m = json.loads(maps.read_text(encoding="utf-8"))
        id2user, id2item = m.get("id2user", {}), m.get("id2item", {})
    events, seen = [], {}
    with open(d / "Beauty.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            user = id2user.get(parts[0], parts[0])
            for it in parts[1:]:
                iid = id2item.get(it, it)
                seen.setdefault(iid, int(it) if it.isdigit() else len(seen))
                events.append(Event(user, iid, "interact", 0))
    items = [Item(iid, "") for iid in sorted(seen, key=lambda i: seen[i])]  # catalogue in numeric id order
    return Dataset("beauty", items, events, False, notes="order only (no timestamps), no item text")


def load_scientific(data_dir: str | Path) -> Dataset:
    """Amazon 2018 Industrial_and_Scientific 5-core (LC-Rec/LETTER format): sequences in time
    order without timestamps; item title, brand, description, comma-separated categories.
    Item text = title (+ brand); categories = the category path minus the shared root."""
    d = Path(data_dir)
    inter = json.loads((d / "Scientific.inter.json").read_text(encoding="utf-8"))
    meta = json.loads((d / "Scientific.item.json").read_text(encoding="utf-8"))
    items = []
    for iid in sorted(meta, key=lambda k: int(k) if k.isdigit() else k):
        m = meta[iid]
        cats = [c.strip() for c in (m.get("categories") or "").split(",") if c.strip()]
        cats = [c for c in cats if c != "Industrial & Scientific"] or cats
        title = " ".join(x for x in (m.get("title") or "", m.get("brand") or "") if x).strip()
        items.append(Item(str(iid), title, tuple(cats)))
    events = [Event(str(user), str(it), "review", 0)
              for user in sorted(inter, key=lambda k: int(k) if k.isdigit() else k) for it in inter[user]]
    return Dataset("scientific", items, events, False, notes="order only (no timestamps)")


# ---- JDsearch: a product-search log with real queries ----------------------------------------
# One line per user: the test query, the items shown under it with graded labels, and the user's history (queries,
# items, behaviour types, time intervals). Every text field is a sequence of anonymized term ids joined by \x18; every
# list is joined by "_". Format: github.com/rucliujn/JDsearch (README, "Data Content and Format").
JDSEARCH_FIELDS = ("query", "candidate_wid_list", "candidate_label_list", "history_qry_list", "history_wid_list",
                   "history_type_list", "history_time_list")
JDSEARCH_PRODUCT_FIELDS = 13  # wid, name, brand_id, brand_name, (cate_id_k, cate_name_k) x 4, shop_id
JDSEARCH_ACTIONS = {"CLICK": "click", "CART": "cart", "ORD": "purchase", "FLW": "follow"}
JDSEARCH_LABEL_ACTIONS = {1: "click", 2: "cart", 3: "purchase"}  # a test candidate's label -> its behaviour


def _first_file(d: Path, patterns: Sequence[str]) -> Path:
    for pattern in patterns:
        found = sorted(d.glob(pattern))
        if found:
            return found[0]
    raise FileNotFoundError(f"none of {list(patterns)} in {d}")


def _jd_text(terms: str) -> str:
    """'12\x1832' -> '12 32': term ids as words, so the tokenizer reads each one as a token. '-1' (no query) -> ''."""
    return "" if terms in ("", "-1") else " ".join(t for t in terms.split("\x18") if t)


def _jd_list(field: str) -> list[str]:
    return field.split("_") if field else []


def _jd_int(value: str, what: str, where: str) -> int:
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # "x", "nan"; "inf"
        raise ValueError(f"{where}: {what} {value!r} is not a finite number") from None


def _jdsearch_user(user: str, fields: list[str], where: str) -> list[Event]:
    """One line -> the user's events: the history in order, then the test query's positive candidates.

    Timestamps are the running sum of history_time_list (its first entry is 0; its last is the interval to the test
    query), in seconds from the user's first behaviour (the format gives intervals only, no unit; the values fit
    seconds). The test candidates with a label > 0 become events at the test query's time carrying that query, the
    highest label last, so leave-one-out holds out the strongest behaviour (a purchase rather than a click): the
    held-out event is a real search, its query the user's own."""
    if len(fields) != len(JDSEARCH_FIELDS):
        raise ValueError(f"{where}: expected {len(JDSEARCH_FIELDS)} tab-separated fields "
                         f"({', '.join(JDSEARCH_FIELDS)}), got {len(fields)}")
    query, candidates, labels, h_queries, h_items, h_types, h_times = fields
    h_queries, h_items, h_types, h_times = map(_jd_list, (h_queries, h_items, h_types, h_times))
    if not len(h_queries) == len(h_items) == len(h_types):
        raise ValueError(f"{where}: the history lists differ in length (queries {len(h_queries)}, items "
                         f"{len(h_items)}, types {len(h_types)})")
    if len(h_times) != len(h_items) + 1:
        raise ValueError(f"{where}: history_time_list has {len(h_times)} entries; expected {len(h_items) + 1}, one "
                         f"per history event and one for the test query")
    candidates, labels = _jd_list(candidates), _jd_list(labels)
    if len(candidates) != len(labels):
        raise ValueError(f"{where}: {len(candidates)} candidates but {len(labels)} labels")
    clock, times = 0, []
    for value in h_times:
        interval = _jd_int(value, "time interval", where)
        if interval < 0:
            raise ValueError(f"{where}: time interval {interval} is negative")
        clock += interval
        times.append(clock)
    events = [Event(user, item, JDSEARCH_ACTIONS.get(kind, kind.lower()), ts, query=_jd_text(q) or None)
              for q, item, kind, ts in zip(h_queries, h_items, h_types, times)]
    graded = [(_jd_int(label, "candidate label", where), k) for k, label in enumerate(labels)]
    test_query = _jd_text(query) or None
    for label, k in sorted(g for g in graded if g[0] > 0):  # ascending: the strongest behaviour is the last event
        if label not in JDSEARCH_LABEL_ACTIONS:
            raise ValueError(f"{where}: candidate label {label} is not one of 0, 1, 2, 3")
        events.append(Event(user, candidates[k], JDSEARCH_LABEL_ACTIONS[label], times[-1], query=test_query))
    return events


def load_jdsearch(data_dir: str | Path) -> Dataset:
    """JDsearch (JD.com product search: clicks, carts, follows and purchases, each with the query it came from).

    Items: title = the name's and the brand name's term ids, categories = the four category names' term ids. The
    catalogue is every product in the product file, then every item a user touched or was shown that the file lacks
    (JDsearch leaves some out), with no text. Users are numbered by line ("jd1", "jd2", ...); the format has no id."""
    d = Path(data_dir)
    behaviour = _first_file(d, ["release_data.txt", "user_behavior_data*.txt", "release_data*.txt"])
    products = _first_file(d, ["product_data.txt", "product_meta_data*.txt", "product_data*.txt"])
    items: dict[str, Item] = {}
    with open(products, encoding="utf-8", newline="\n") as f:
        for line_no, line in enumerate(f, 1):
            fields = line.rstrip("\r\n").split("\t")
            if (line_no == 1 and fields[0] == "wid") or not line.strip():
                continue  # the sample's header line
            if len(fields) != JDSEARCH_PRODUCT_FIELDS:
                raise ValueError(f"{products}:{line_no}: expected {JDSEARCH_PRODUCT_FIELDS} tab-separated fields "
                                 f"(wid, name, brand_id, brand_name, cate_id_1, cate_name_1, ..., shop_id), "
                                 f"got {len(fields)}")
            title = " ".join(t for t in (_jd_text(fields[1]), _jd_text(fields[3])) if t)
            items[fields[0]] = Item(fields[0], title, tuple(c for c in map(_jd_text, fields[5:12:2]) if c))
    events, users, shown = [], 0, []
    with open(behaviour, encoding="utf-8", newline="\n") as f:
        for line_no, line in enumerate(f, 1):
            fields = line.rstrip("\r\n").split("\t")
            if (line_no == 1 and fields[0] == JDSEARCH_FIELDS[0]) or not line.strip():
                continue
            users += 1
            events += _jdsearch_user(f"jd{users}", fields, f"{behaviour}:{line_no}")
            shown += _jd_list(fields[1])
    described = len(items)
    for item in [e.item_id for e in events] + shown:
        items.setdefault(item, Item(item, ""))
    searched = sum(e.query is not None for e in events)
    return Dataset("jdsearch", list(items.values()), events, True,
                   notes=f"{users} users, {len(events)} events ({searched} with a query), {len(items)} items "
                         f"({len(items) - described} without product data)")


# ---- generic: the documented schema as JSON lines, CSV or Parquet ---------------------------
def _rows(path: str | Path) -> Iterator[dict[str, Any]]:
    p = Path(path)
    suffixes = p.suffixes
    if ".parquet" in suffixes:
        try:
            import pandas as pd  # optional: only Parquet needs it
        except ImportError:
            raise SystemExit("reading Parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
        for row in pd.read_parquet(p).to_dict("records"):
            yield {k: (None if _is_nan(v) else v) for k, v in row.items()}
    elif ".csv" in suffixes or ".tsv" in suffixes:
        with _open_text(p, "utf-8") as f:
            reader = csv.DictReader(f, delimiter="\t" if ".tsv" in suffixes else ",")
            for row in reader:
                yield {k: (v if v != "" else None) for k, v in row.items()}
    else:
        if p.suffix == ".gz":
            with gzip.open(p, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)
        else:
            yield from read_jsonl(p)


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _categories(v: Any) -> Any:
    # CSV: "a|b|c"; Parquet: a list/array; JSON: a list or a string
    if isinstance(v, str) and "|" in v:
        return [c for c in v.split("|") if c]
    if v is not None and not isinstance(v, (str, list, tuple)) and hasattr(v, "tolist"):
        return v.tolist()
    return v


def load_generic(events_path: str | Path, items_path: str | Path) -> Dataset:
    items = [item_from_dict({**r, "categories": _categories(r.get("categories"))}) for r in _rows(items_path)]
    events = [event_from_dict(r) for r in _rows(events_path)]
    has_ts = len({e.timestamp for e in events}) > 1
    return Dataset("generic", items, events, has_ts)


def load_dataset(name: str, data_dir: str | Path) -> Dataset:
    loaders = {"ml-100k": load_ml100k, "ml-1m": load_ml1m, "beauty": load_beauty, "scientific": load_scientific,
               "jdsearch": load_jdsearch}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(loaders)}")
    return loaders[name](data_dir)
