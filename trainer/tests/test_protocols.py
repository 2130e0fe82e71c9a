"""Beauty split rules and the dataset adapters, on toy logs written here."""
import json

import numpy as np

from genrec_trainer.data import build_vocab, group_by_user, item_index
from genrec_trainer.datasets import load_beauty, load_generic, load_ml100k, load_ml1m, load_scientific
from genrec_trainer.evaluate import beauty_split, equal_timestamp_events, make_split
from genrec_trainer.schema import Event, Item


def _seqs(log: dict[str, list[str]]):
    items = sorted({i for seq in log.values() for i in seq})
    cat = [Item(i, "") for i in items]
    events = [Event(u, i, "interact", 0) for u, seq in log.items() for i in seq]
    idx = item_index(cat)
    return group_by_user(events, idx, ["interact"], build_vocab(cat, events), 2), idx


def test_beauty_split_rules_on_toy_log():
    log = {
        "a": ["x", "y", "z", "w"],          # ok: w seen elsewhere in training (user b), not by a
        "b": ["w", "x", "y", "v"],          # ok
        "c": ["x", "y", "z", "cold"],       # last item occurs nowhere else -> dropped (cold)
        "d": ["y", "z", "x", "y"],          # last item already in own history -> dropped (seen)
        "e": ["v", "w", "x"],               # ok: x known
        "f": ["q", "r"],                    # too short: trains only, no test / validation
    }
    seqs, idx = _seqs(log)
    users = [s.user_id for s in seqs]
    split, info = beauty_split(seqs)
    assert info == {"test_users_before_filter": 5, "dropped_cold": 1, "dropped_seen": 1, "test_users": 3}
    assert sorted(users[u] for u, _ in split.test) == ["a", "b", "e"]
    # test = last position, validation = second-to-last, for every user with >= 3 events
    for u, t in split.test:
        assert t == len(seqs[u].items) - 1
    assert sorted((users[u], t) for u, t in split.valid) == [("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 1)]
    # training targets never include a validation or test position
    train = {(users[u], t) for u, t in split.train}
    assert ("a", 2) not in train and ("a", 3) not in train and ("a", 1) in train
    assert ("f", 0) in train and ("f", 1) in train
    # the cold rule looks at all users' sequences without their last item: v is b's last item
    # but e's first, so it is known
    assert make_split(seqs, "loo")[1] == {"test_users": 5, "training_only_users": 1}  # f: too short to hold out


def test_equal_timestamps_keep_file_order():
    cat = [Item(i, "") for i in "abc"]
    events = [Event("u", "c", "x", 5), Event("u", "a", "x", 5), Event("u", "b", "x", 1)]
    idx = item_index(cat)
    (s,) = group_by_user(events, idx, ["x"], build_vocab(cat, events), 2)
    assert s.items.tolist() == [idx["b"], idx["c"], idx["a"]]
    assert equal_timestamp_events([s]) == 1


def test_movielens_adapters(tmp_path):
    d = tmp_path / "ml-100k"
    d.mkdir()
    (d / "u.data").write_text("1\t10\t4\t100\n1\t11\t2\t90\n2\t10\t5\t50\n")
    flags = ["0"] * 19
    flags[1] = flags[5] = "1"
    (d / "u.item").write_bytes(("10|Caf\xe9 (1995)|x||url|" + "|".join(flags) + "\n"
                                "11|B (1990)|x||url|" + "|".join(["0"] * 19) + "\n"
                                "12|Never rated|x||url|" + "|".join(["0"] * 19) + "\n").encode("latin-1"))
    ds = load_ml100k(d)
    assert [it.item_id for it in ds.items] == ["10", "11"] and ds.items[0].title == "Caf\xe9 (1995)"
    assert ds.items[0].categories == ("Action", "Comedy")
    assert ds.events[0] == Event("1", "10", "rate_4", 100, None, 1)
    assert ds.events[1].label == 0 and ds.has_timestamps

    m = tmp_path / "ml-1m"
    m.mkdir()
    (m / "movies.dat").write_bytes("1::Toy Story (1995)::Animation|Comedy\n2::X::Drama\n".encode("latin-1"))
    import gzip
    with gzip.open(m / "ratings-users-1-2999.dat.gz", "wt") as f:
        f.write("1::1::5::978300760\n1::2::3::978300761\n")
    part = load_ml1m(m)
    assert len(part.events) == 2 and part.events[0].action == "rate_5" and part.events[1].label == 0
    (m / "ratings.dat").write_text("1::1::5::978300760\n2::2::4::978300761\n3::1::1::978300762\n")
    full = load_ml1m(m)                                  # the full file wins when present
    assert len(full.events) == 3 and full.items[0].categories == ("Animation", "Comedy")


def test_amazon_adapters(tmp_path):
    b = tmp_path / "beauty"
    b.mkdir()
    (b / "Beauty.txt").write_text("1 1 2 3\n2 2 3 1 4\n")
    (b / "datamaps.json").write_text(json.dumps({"id2user": {"1": "U1", "2": "U2"},
                                                 "id2item": {"1": "A", "2": "B", "3": "C", "4": "D"}}))
    ds = load_beauty(b)
    assert [it.item_id for it in ds.items] == ["A", "B", "C", "D"] and not ds.has_timestamps
    assert [(e.user_id, e.item_id, e.timestamp) for e in ds.events[:4]] == \
        [("U1", "A", 0), ("U1", "B", 0), ("U1", "C", 0), ("U2", "B", 0)]

    s = tmp_path / "sci"
    s.mkdir()
    (s / "Scientific.inter.json").write_text(json.dumps({"0": [1, 0], "1": [0, 1]}))
    (s / "Scientific.item.json").write_text(json.dumps({
        "0": {"title": "Staples", "brand": "Stanley", "description": "d",
              "categories": "Industrial & Scientific,Fasteners,Staples"},
        "1": {"title": "Kit", "brand": "", "description": "", "categories": "Industrial & Scientific"}}))
    sci = load_scientific(s)
    assert sci.items[0] == Item("0", "Staples Stanley", ("Fasteners", "Staples"))
    assert sci.items[1].categories == ("Industrial & Scientific",)
    assert [(e.user_id, e.item_id) for e in sci.events] == [("0", "1"), ("0", "0"), ("1", "0"), ("1", "1")]


def test_generic_csv_and_jsonl(tmp_path):
    (tmp_path / "ev.csv").write_text("user_id,item_id,action,timestamp,query,label\n"
                                     "u,a,click,2023-11-14T22:13:20Z,,\nu,b,buy,1700000001,red shoes,1\n")
    (tmp_path / "it.csv").write_text("item_id,title,categories\na,A,x|y\nb,B,\n")
    ds = load_generic(tmp_path / "ev.csv", tmp_path / "it.csv")
    assert ds.items[0].categories == ("x", "y") and ds.items[1].categories == ()
    assert ds.events[0].timestamp == 1700000000 and ds.events[0].query is None and ds.events[0].label is None
    assert ds.events[1].query == "red shoes" and ds.events[1].label == 1
    (tmp_path / "ev.jsonl").write_text("\n".join(json.dumps(e.to_dict()) for e in ds.events))
    (tmp_path / "it.jsonl").write_text("\n".join(json.dumps(i.to_dict()) for i in ds.items))
    again = load_generic(tmp_path / "ev.jsonl", tmp_path / "it.jsonl")
    assert again.events == ds.events and again.items == ds.items
    try:
        import pandas as pd
    except ImportError:
        return
    pd.DataFrame([e.to_dict() for e in ds.events]).to_parquet(tmp_path / "ev.parquet")
    pd.DataFrame([i.to_dict() for i in ds.items]).to_parquet(tmp_path / "it.parquet")
    pq = load_generic(tmp_path / "ev.parquet", tmp_path / "it.parquet")
    assert pq.items == ds.items and [e.item_id for e in pq.events] == ["a", "b"]
    assert pq.events[1].label == 1 and np.all([e.timestamp for e in pq.events] == [1700000000, 1700000001])
