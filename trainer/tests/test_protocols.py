"""Beauty split rules and the dataset adapters, on toy logs written here (and JDsearch's published sample, when
../shared/data is beside the checkout)."""
import json

import numpy as np
import pytest

from genrec_trainer.data import build_vocab, group_by_user, item_index
from genrec_trainer.datasets import load_beauty, load_generic, load_jdsearch, load_ml100k, load_ml1m, load_scientific
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


JD_HEADER = "\t".join(("query", "candidate_wid_list", "candidate_label_list", "history_qry_list", "history_wid_list",
                       "history_type_list", "history_time_list"))


def _jd_product(wid: str, name: str, brand: str, *categories: str) -> str:
    cats = [f"{k}\t{c}" for k, c in enumerate(categories, 1)] + ["0\t"] * (4 - len(categories))
    return "\t".join([wid, name, "b1", brand, *cats, "s1"]) + "\n"


def test_jdsearch_adapter(tmp_path):
    # user 1: a search (two terms), a query-less click, then the test query under which c2 was purchased and c1
    # clicked; user 2: no positive test candidate. Terms are joined by \x18, list elements by "_".
    (tmp_path / "product_meta_data_sample.txt").write_text(
        "wid\tname\tbrand_id\tbrand_name\tcate_id_1\tcate_name_1\tcate_id_2\tcate_name_2\tcate_id_3\tcate_name_3"
        "\tcate_id_4\tcate_name_4\tshop_id\n"
        + _jd_product("h1", "11\x1812", "13", "21", "22\x1823") + _jd_product("c1", "14", "", "21"))
    (tmp_path / "user_behavior_data_sample.txt").write_text(
        JD_HEADER + "\n"
        + "7\x188\tc0_c1_c2\t0.0_1.0_3.0\t5\x186_-1\th1_h2\tCART_CLICK\t0_30_100\n"
        + "9\tc1\t0.0\t-1\th1\tFLW\t0_5\n")
    ds = load_jdsearch(tmp_path)
    assert [(e.user_id, e.item_id, e.action, e.timestamp, e.query) for e in ds.events] == [
        ("jd1", "h1", "cart", 0, "5 6"), ("jd1", "h2", "click", 30, None),
        ("jd1", "c1", "click", 130, "7 8"), ("jd1", "c2", "purchase", 130, "7 8"),   # the purchase is held out
        ("jd2", "h1", "follow", 0, None)]
    assert ds.items[0] == Item("h1", "11 12 13", ("21", "22 23")) and ds.items[1] == Item("c1", "14", ("21",))
    # items without product data (touched or only shown) are in the catalogue, with no text
    assert [(it.item_id, it.title) for it in ds.items[2:]] == [("h2", ""), ("c2", ""), ("c0", "")]
    assert ds.has_timestamps and all(e.label is None for e in ds.events)

    seqs = group_by_user(ds.events, item_index(ds.items), sorted({e.action for e in ds.events}),
                         build_vocab(ds.items, ds.events), 4)
    split, stats = make_split(seqs, "loo")
    u, t = split.test[0]
    assert stats["test_users"] == 1 and seqs[u].user_id == "jd1" and t == 3   # the purchase, tied with the click


def test_jdsearch_adapter_names_the_line_of_a_malformed_record(tmp_path):
    (tmp_path / "product_data.txt").write_text(_jd_product("h1", "1", "2"))
    bad = {"a history list shorter than the others": "q\tc1\t1.0\t-1_-1\th1\tCLICK\t0_1",
           "a time list without the test query's interval": "q\tc1\t1.0\t-1\th1\tCLICK\t0",
           "a negative interval": "q\tc1\t1.0\t-1\th1\tCLICK\t0_-4",
           "a label that is not a number": "q\tc1\tyes\t-1\th1\tCLICK\t0_4",
           "a label outside 0-3": "q\tc1\t7.0\t-1\th1\tCLICK\t0_4",
           "an infinite interval": "q\tc1\t1.0\t-1\th1\tCLICK\t0_inf",
           "a missing field": "q\tc1\t1.0\t-1\th1\tCLICK"}
    for case, line in bad.items():
        (tmp_path / "release_data.txt").write_text("q\tc1\t1.0\t-1\th1\tCLICK\t0_4\n" + line + "\n")
        with pytest.raises(ValueError, match=r"release_data\.txt:2: "):
            load_jdsearch(tmp_path)
            pytest.fail(case)


def test_jdsearch_adapter_reads_the_published_sample(jdsearch_sample):
    ds = load_jdsearch(jdsearch_sample)
    # 3 users: 182 + 46 + 2 history events and 1 + 2 + 2 positive test candidates (the SOURCE.md's counts)
    assert len({e.user_id for e in ds.events}) == 3 and len(ds.events) == 235
    assert sum(bool(it.title) for it in ds.items) == 409
    assert {e.action for e in ds.events} <= {"click", "cart", "purchase", "follow"}
    assert all(a.timestamp <= b.timestamp for a, b in zip(ds.events, ds.events[1:]) if a.user_id == b.user_id)
