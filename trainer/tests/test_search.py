"""The personalized search protocol: category queries, which events carry them, BM25 by hand."""
import math

import numpy as np
import pytest

from genrec_trainer.data import build_vocab, group_by_user, item_index, leave_one_out
from genrec_trainer.schema import Event, Item
from genrec_trainer.search import (BM25, ItemQueries, attach_training_queries, bm25_ranks, bm25_scorer, category_query,
                                   query_text, search_log, with_target_queries)

CATALOGUE = [Item("a", "Red Duct Tape", ("Tapes, Adhesives & Sealants", "Adhesive Tapes", "Duct Tape")),
             Item("b", "Blue Duct Tape Roll", ("Tapes, Adhesives & Sealants", "Adhesive Tapes", "Duct Tape")),
             Item("c", "Lab Beaker 250ml", ("Lab & Scientific Products", "Beakers")),
             Item("d", "Toy Story (1995)", ("Animation", "Children's", "Comedy")),
             Item("e", "No Category Widget Deluxe", ())]


def test_path_query_keeps_the_specific_end_of_the_category_path():
    rng = np.random.default_rng(0)
    assert category_query(CATALOGUE[0], "path", rng, 8) == "tapes adhesives sealants adhesive duct tape"
    # repeats removed ("tapes"/"tape" differ, "adhesive(s)" differ); cut from the general end
    assert category_query(CATALOGUE[0], "path", rng, 3) == "adhesive duct tape"
    assert category_query(CATALOGUE[2], "path", rng, 8) == "lab scientific products beakers"


def test_one_category_query_picks_a_whole_category_and_titles_stand_in_for_none():
    rng = np.random.default_rng(0)
    picks = {category_query(CATALOGUE[3], "one", rng, 8) for _ in range(50)}
    assert picks == {"animation", "children s", "comedy"}
    assert category_query(CATALOGUE[4], "path", rng, 3) == "no category widget"
    with pytest.raises(ValueError):
        category_query(CATALOGUE[0], "bogus", rng, 3)


def _log():
    events = [Event(u, i, "buy", 0) for u, seq in {"u1": "abcab", "u2": "bacdc", "u3": "cdabd"}.items() for i in seq]
    vocab = build_vocab(CATALOGUE, events)
    return group_by_user(events, item_index(CATALOGUE), ["buy"], vocab, 8), vocab


def test_only_training_events_become_searches_and_the_search_test_queries_the_target():
    seqs, vocab = _log()
    split = leave_one_out(seqs)
    queries = ItemQueries(CATALOGUE, vocab, "path", 8)
    n = attach_training_queries(seqs, split.train, queries, 1.0, np.random.default_rng(0))
    assert n == len(split.train) == 9
    for u, t in split.valid + split.test:          # held-out events stay recommendation events
        assert not seqs[u].query_tokens[t].any()
    for u, t in split.train:
        assert seqs[u].query_tokens[t].any()
    searched, texts = with_target_queries(seqs, split.test, queries, np.random.default_rng(0))
    for (u, t), text in zip(split.test, texts):
        assert text == category_query(CATALOGUE[seqs[u].items[t] - 1], "path", np.random.default_rng(0), 8)
        assert searched[u].query_tokens[t].tolist() == vocab.encode(text, 8)
        assert not seqs[u].query_tokens[t].any()    # the original is untouched


def test_search_log_holds_each_test_users_events_up_to_the_target_with_the_queries_the_model_read():
    seqs, vocab = _log()
    split = leave_one_out(seqs)
    queries = ItemQueries(CATALOGUE, vocab, "path", 8)
    attach_training_queries(seqs, split.train, queries, 0.5, np.random.default_rng(1))
    searched, texts = with_target_queries(seqs, split.test, queries, np.random.default_rng(0))
    log = search_log(searched, split.test, CATALOGUE, ["buy"], vocab)
    by_user = {}
    for e in log:
        by_user.setdefault(e.user_id, []).append(e)
    assert len(by_user) == len(split.test)
    for (u, t), text in zip(split.test, texts):
        events = by_user[searched[u].user_id]
        assert len(events) == t + 1                      # the validation event is history here, as in the test
        assert events[-1].item_id == CATALOGUE[searched[u].items[t] - 1].item_id and events[-1].query == text
        for p, e in enumerate(events):                   # each query encodes back to what the model read
            assert vocab.encode(e.query, 8) == searched[u].query_tokens[p].tolist()
            assert e.action == "buy" and e.timestamp == 0 and e.label is None
    assert any(e.query for events in by_user.values() for e in events[:-1])      # some history events are searches
    assert any(e.query is None for events in by_user.values() for e in events)   # and some are not


def test_query_text_refuses_a_word_the_vocab_does_not_know():
    _, vocab = _log()
    assert query_text(np.array(vocab.encode("duct tape", 4)), vocab) == "duct tape"
    assert query_text(np.zeros(4, np.int64), vocab) is None
    with pytest.raises(ValueError, match="outside the vocab"):
        query_text(np.array(vocab.encode("duct zeppelin", 4)), vocab)


def test_bm25_matches_the_formula_on_a_hand_computed_case():
    bm25 = BM25(["duct tape", "duct tape duct", "beaker"], k1=1.2, b=0.75)
    avg = 6 / 3
    idf_duct = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    idf_tape = idf_duct

    def term(idf, tf, length):
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))

    s = bm25.scores("Duct tape duct")                   # repeated query word counts once
    assert s[0] == 0.0 and s[3] == 0.0
    assert s[1] == pytest.approx(term(idf_duct, 1, 2) + term(idf_tape, 1, 2))
    assert s[2] == pytest.approx(term(idf_duct, 2, 3) + term(idf_tape, 1, 3))


def test_bm25_ranks_break_ties_by_popularity_and_exclude_history():
    twins = [Item("x", "duct tape"), Item("y", "duct tape"), Item("z", "beaker"), Item("w", "duct tape")]
    log = {"u1": "yyzzx", "u2": "yzyzy", "u3": "zwzwz"}
    events = [Event(u, i, "buy", 0) for u, seq in log.items() for i in seq]
    seqs = group_by_user(events, item_index(twins), ["buy"], build_vocab(twins, events), 4)
    split = leave_one_out(seqs)
    u1 = [s.user_id for s in seqs].index("u1")
    # x, y, w tie on BM25; y is the most popular training target, but it is in u1's history and
    # excluded; w (one training target) still ranks above x (none)
    assert bm25_ranks(bm25_scorer(twins, seqs, split.train), seqs, [(u1, 4)], ["duct tape"]).tolist() == [1]
    # "beaker" matches only z, which u1 has seen: x then competes on popularity alone, behind w
    assert bm25_ranks(bm25_scorer(twins, seqs, split.train), seqs, [(u1, 4)], ["beaker"]).tolist() == [1]
