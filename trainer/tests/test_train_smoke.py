"""Every training switch runs end to end on a tiny synthetic log (seconds), and a non-default
configuration trained this way exports a bundle that passes ONNX parity."""
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from genrec_trainer import synthetic
from genrec_trainer.cooccurrence import CoOccurrence
from genrec_trainer.datasets import load_jdsearch
from genrec_trainer.evaluate import rank_metrics
from genrec_trainer.schema import Event, Item, parse_timestamp
from genrec_trainer.train import decays_now, selection_score, train


@pytest.fixture(scope="module")
def tiny_log():
    return synthetic.generate(seed=1, num_users=60, num_items=50, min_len=12, max_len=20)


def _train(tiny_log, tmp_path, epochs=2, seed=1, log=lambda *_: None, **kw):
    items, events = tiny_log
    return train(items, events, out=str(tmp_path / "b"), data_desc="tiny", seed=seed, epochs=epochs, max_history=10,
                 d_model=16, batch_size=32, examples_per_epoch=64, negatives=32, log=log, **kw)


def test_all_loss_switches_train(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, rank_loss="bce+pairwise", enhancer=True, enhancer_top=8, enhancer_hard=3,
               favourite_threshold=0.5, adaptive_weights=True, dense_loss=True, dense_divisor="fixed", select_best=True,
               metrics_out=str(tmp_path / "m.json"), curves=str(tmp_path / "curves.png"), export=False)
    assert set(m) >= {"hr@10", "ndcg@10", "auc"}
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "m.json").read_text())
    assert len(saved["history"]) == 2 and saved["enhancer"] is True and saved["dense_loss"] is True
    assert saved["dense_divisor"] == "fixed"
    for epoch in saved["history"]:   # what the adaptive weighter did, per epoch: the two weights always sum to 2
        ret, rank = epoch["retrieval_loss_weight"], epoch["ranking_loss_weight"]
        assert ret["min"] <= ret["mean"] <= ret["max"] and rank["min"] <= rank["mean"] <= rank["max"]
        assert ret["mean"] + rank["mean"] == pytest.approx(2.0, rel=1e-5)


def test_adaptive_weighter_compares_epoch_means_or_steps(tiny_log, tmp_path):
    """By default the weights come from each epoch's mean losses over the epoch before's (fixed within an epoch);
    with adaptive_every="step" from each step's over the step before (they move within an epoch)."""
    _train(tiny_log, tmp_path, epochs=3, adaptive_weights=True, adaptive_temperature=0.5, dense_loss=True,
           metrics_out=str(tmp_path / "m.json"), export=False)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["adaptive_every"] == "epoch"
    first, second, third = saved["history"]
    for epoch in (first, second):   # no ratio before two epochs' means exist
        assert epoch["retrieval_loss_weight"] == epoch["ranking_loss_weight"] == {"min": 1.0, "mean": 1.0, "max": 1.0}
    ratios = torch.tensor([second["retrieval_loss"] / first["retrieval_loss"], second["ranking_loss"] / first["ranking_loss"]])
    want = (2 * torch.softmax(ratios / 0.5, dim=0)).tolist()
    for task, w in zip(("retrieval", "ranking"), want):
        got = third[f"{task}_loss_weight"]
        assert got["min"] == pytest.approx(w, rel=1e-5) and got["max"] == pytest.approx(w, rel=1e-5)
    assert want[0] != pytest.approx(1.0, abs=1e-3), "the check must see weights other than 1"

    _train(tiny_log, tmp_path, epochs=2, adaptive_weights=True, adaptive_every="step", dense_loss=True,
           metrics_out=str(tmp_path / "s.json"), export=False)
    steps = json.loads((tmp_path / "s.json").read_text())
    assert steps["adaptive_every"] == "step"
    moved = steps["history"][1]["retrieval_loss_weight"]
    assert moved["min"] < moved["max"], "per step, the weights change within an epoch"


def test_hstu_preset_trains_and_exports(tiny_log, tmp_path):
    _train(tiny_log, tmp_path, block="hstu", time_signal="bucket", item_text=False, dense_loss=True)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["architecture"]["backbone"] == "hstu"
    assert manifest["training"]["onnx_parity_max_abs_err"] <= 1e-5


def test_user_epochs_with_dropout_full_softmax_early_stop_and_search_export(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, sampling="users", dense_loss=True, dense_readout="ret", dropout=0.3,
               attention_dropout=0.3, mlp_ratio=1.0, adam_beta2=0.98, norm="layer", mlp="gelu", full_softmax=True,
               weight_decay=0.01, eval_every=1, patience=1, search_queries="path", search_fraction=0.5,
               length_grouping=False, metrics_out=str(tmp_path / "m.json"), search_log_out=str(tmp_path / "searches.jsonl"))
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["sampling"] == "users" and saved["examples_per_epoch"] == 60, "one example per user"
    # the search test's requests, for genrec-tools evaluate: per test user its events, the last one the search
    searches = [json.loads(line) for line in (tmp_path / "searches.jsonl").read_text().splitlines()]
    last = {e["user_id"]: e for e in searches}
    assert len(last) == saved["search"]["model"]["users"] and all(e.get("query") for e in last.values())
    assert any("query" in e for e in searches if e is not last[e["user_id"]]), "training searches in the histories"
    with pytest.raises(ValueError, match="without search_queries there is no search test"):
        _train(tiny_log, tmp_path, search_log_out=str(tmp_path / "none.jsonl"))
    assert saved["length_grouping"] is False
    assert saved["dense_readout"] == "ret"
    assert saved["config"]["mlp_hidden"] == 16 and saved["config"]["attention_dropout"] == 0.3 and saved["adam_beta2"] == 0.98
    rescored = {"bm25_rescored100_head", "bm25_rescored100_head_alone"}  # + the blend's two where validation chose one
    assert {"model", "model_no_history", "bm25"} | rescored <= set(saved["search"])
    assert set(saved["search"]) - rescored - {"model", "model_no_history", "bm25"} == (
        {"bm25_rescored100", "bm25_rescored100_blend"} if saved["retrieval_weight"] else set())
    assert 0.0 <= m["search_bm25_hr@10"] <= 1.0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["training"]["onnx_parity_max_abs_err"] <= 1e-5, "dropout is gone from the export"
    assert manifest["architecture"]["norm"] == "layer" and manifest["architecture"]["mlp"] == "gelu"


def test_sasrec_style_switches_train_and_export_a_dot_product_bundle(tiny_log, tmp_path):
    """The Beauty recipe's switches (session 5): last-event readout, tied embeddings, scaled inputs,
    dot-product logits, uniform negatives only, no ranking loss. The bundle says "dot" (so the items
    index maps maximum_inner_product), its embeddings are not unit length, and ONNX parity holds."""
    import numpy as np

    _train(tiny_log, tmp_path, sampling="users", dense_loss=True, readout="last_event", tied_embeddings=True,
           input_scale=4.0, similarity="dot", in_batch_negatives=False, rank_weight=0.0,
           metrics_out=str(tmp_path / "m.json"))
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["dense_readout"] == "history", "last_event is read at each event's own state: no prefix pass"
    assert saved["config"]["similarity"] == "dot" and saved["rank_weight"] == 0.0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["similarity"] == "dot"
    assert manifest["architecture"]["readout"] == "last_event" and manifest["architecture"]["input_scale"] == 4.0
    assert manifest["training"]["onnx_parity_max_abs_err"] <= 1e-5
    emb = np.fromfile(tmp_path / "b" / "item_embeddings.f32", dtype="<f4").reshape(manifest["items"]["count"], -1)
    assert np.abs(np.linalg.norm(emb, axis=1) - 1).max() > 1e-2, "dot-product embeddings keep their lengths"


def test_user_examples_take_each_users_last_training_target():
    import numpy as np

    from genrec_trainer.train import user_examples

    ex = user_examples(np.array([[0, 0], [0, 1], [1, 0], [0, 2], [2, 3], [1, 1]]))
    assert ex.tolist() == [[0, 2], [1, 1], [2, 3]]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")
def test_device_auto_falls_back_to_cpu_and_cuda_without_a_gpu_is_a_clear_error():
    from genrec_trainer.train import resolve_device
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(SystemExit, match="sees no CUDA device"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the device tool's machine)")
def test_cuda_training_exports_a_bundle_whose_parity_check_passes(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, device="cuda", dense_loss=True, dense_readout="ret")
    assert 0.0 <= m["hr@10"] <= 1.0 and (tmp_path / "b" / "manifest.json").exists()


def test_rerank_top_reports_the_served_order_and_the_bundle_carries_its_blend(tiny_log, tmp_path):
    logged = []
    m = _train(tiny_log, tmp_path, epochs=1, rerank_top=50, metrics_out=str(tmp_path / "m.json"), log=logged.append)
    # a window of the whole catalogue (50 items) reorders everything: the head (and the blend) decides every rank
    assert {"rerank50_hr@10", "rerank50_ndcg@10", "rerank50_mrr", "blend50_hr@10", "blend50_ndcg@10"} <= set(m)
    assert m["rerank50_hr@50"] == pytest.approx(1.0) and m["blend50_hr@50"] == pytest.approx(1.0)
    saved = json.loads((tmp_path / "m.json").read_text())
    tried = saved["retrieval_weight_valid_ndcg@10"]
    assert saved["retrieval_weight"] == max(map(float, tried), key=lambda w: (tried[str(w)], -w))  # best, smallest on ties
    assert any(line.startswith("served order: retrieval weight") for line in logged)
    ranking = json.loads((tmp_path / "b" / "manifest.json").read_text())["ranking"]
    assert ranking == {"retrieval_weight": saved["retrieval_weight"], "window": 50, "chosen_on": "validation ndcg@10"}


def test_a_given_retrieval_weight_is_served_as_given(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, epochs=1, rerank_top=50, retrieval_weight=0.0)
    assert m["blend50_ndcg@10"] == m["rerank50_ndcg@10"]           # weight 0: the head alone
    ranking = json.loads((tmp_path / "b" / "manifest.json").read_text())["ranking"]
    assert ranking == {"retrieval_weight": 0.0, "window": 50, "chosen_on": "given"}


def test_co_occurrence_joins_the_served_blend_and_the_bundle_carries_its_counts(tiny_log, tmp_path):
    logged = []
    m = _train(tiny_log, tmp_path, epochs=1, rerank_top=50, co_occurrence=5, metrics_out=str(tmp_path / "m.json"),
               log=logged.append)
    saved = json.loads((tmp_path / "m.json").read_text())
    tried = saved["co_occurrence_weight_valid_ndcg@10"]                # both weights chosen together
    assert tried[f"{saved['retrieval_weight']:g},{saved['co_occurrence_weight']:g}"] == max(tried.values())
    assert any(line.startswith("served order: retrieval weight") and "co-occurrence weight" in line for line in logged)
    assert "blend50_without_prior_ndcg@10" in m or saved["co_occurrence_weight"] == 0
    bundle = tmp_path / "b"
    manifest = json.loads((bundle / "manifest.json").read_text())
    co = CoOccurrence.read(bundle / manifest["co_occurrence"]["file"])
    assert manifest["ranking"]["co_occurrence_weight"] == saved["co_occurrence_weight"]
    assert manifest["co_occurrence"]["pairs"] == len(co.neighbours) > 0 and np.diff(co.offsets).max() <= 5
    golden = json.loads((bundle / "golden.json").read_text())
    page = next(c for c in golden["cases"] if c["name"] == "latest_second_of_several")
    assert manifest["co_occurrence"]["span"] == 0 and saved["co_occurrence_span"] == 0   # counted by seconds
    assert len(page["expected"]["co_occurrence_context"]) == 3          # four events in the second, one unknown
    assert len(page["expected"]["co_occurrence_prior"]) == len(page["request"]["candidates"])


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON: a strict reader (the Java runtime's) refuses the file")


def test_an_order_only_log_counts_co_occurrence_a_few_events_apart(tiny_log, tmp_path):
    """A log in order only and with positives only (purchases, reviews): its bundle must still be strict JSON."""
    items, events = tiny_log
    order_only = [dataclasses.replace(e, timestamp=0, label=None) for e in events]
    _train((items, order_only), tmp_path, epochs=1, rerank_top=50, co_occurrence=5, co_occurrence_span=3,
           metrics_out=str(tmp_path / "m.json"))
    assert json.loads((tmp_path / "m.json").read_text(), parse_constant=_not_json)["test"]["auc"] is None   # so is --metrics-out
    bundle = tmp_path / "b"
    manifest = json.loads((bundle / "manifest.json").read_text(), parse_constant=_not_json)
    assert manifest["co_occurrence"]["span"] == 3
    assert manifest["training"]["metrics"]["auc"] is None     # no negative label in this log: undefined, JSON null
    assert manifest["training"]["protocol"] == "loo", "the metrics say what they were measured on"
    assert "history items excluded" in manifest["training"]["protocol_text"]
    co = CoOccurrence.read(bundle / manifest["co_occurrence"]["file"], manifest["co_occurrence"]["span"])
    assert len(co.neighbours) > 0
    index = {json.loads(line)["item_id"]: json.loads(line)["index"] for line in (bundle / "items.jsonl").open()}
    for case in json.loads((bundle / "golden.json").read_text())["cases"]:
        ordered = sorted(case["request"]["history"], key=lambda e: parse_timestamp(e["time"]))   # stable, as served
        read = [index[e["item"]] for e in ordered if e["item"] in index]
        assert case["expected"]["co_occurrence_context"] == sorted(set(read[-3:])), case["name"]


def test_co_occurrence_needs_timestamps_and_a_served_window(tiny_log, tmp_path):
    items, events = tiny_log
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="no timestamps.*co_occurrence_span"):
        _train((items, order_only), tmp_path, epochs=1, co_occurrence=5)
    with pytest.raises(ValueError, match="no prior to count"):
        _train(tiny_log, tmp_path, epochs=1, co_occurrence_span=5)
    with pytest.raises(ValueError, match="events apart"):
        _train(tiny_log, tmp_path, epochs=1, co_occurrence=5, co_occurrence_span=-1)
    with pytest.raises(ValueError, match="rerank_top"):
        _train(tiny_log, tmp_path, epochs=1, co_occurrence=5, rerank_top=0)
    with pytest.raises(ValueError, match="needs a blend"):
        _train(tiny_log, tmp_path, epochs=1, co_occurrence=5, retrieval_weight=0.0, co_occurrence_weight=1.0)


def test_ranker_on_labelled_events_only(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, rank_negatives=0, rank_loss="bce+pairwise", export=False,
               metrics_out=str(tmp_path / "m.json"))
    assert 0.0 <= m["auc"] <= 1.0
    _train(tiny_log, tmp_path, export=False, metrics_out=str(tmp_path / "auto.json"))
    assert json.loads((tmp_path / "auto.json").read_text())["rank_negatives"] == 0, "labelled log: labelled events only"
    items, events = tiny_log
    unlabelled = [dataclasses.replace(e, label=None) for e in events]
    with pytest.raises(ValueError, match="no event has a negative label"):
        _train((items, unlabelled), tmp_path, rank_negatives=0, export=False)
    _train((items, unlabelled), tmp_path, export=False, metrics_out=str(tmp_path / "unlabelled.json"))
    assert json.loads((tmp_path / "unlabelled.json").read_text())["rank_negatives"] == 7, "no labels: sampled negatives"
    with pytest.raises(ValueError, match="dense_rank .* no event has a negative label"):
        _train((items, unlabelled), tmp_path, dense_rank=True, export=False)


def test_enhancer_without_the_loss_it_acts_on_is_refused(tiny_log, tmp_path):
    # the dense loss alone with sampled negatives: no example-level loss, no full softmax for the favourites
    with pytest.raises(ValueError, match="needs full_softmax"):
        _train(tiny_log, tmp_path, enhancer=True, dense_loss=True, target_weight=0.0, export=False)


def test_excluding_seen_items_lowers_the_full_softmax_loss_and_needs_one(tiny_log, tmp_path):
    recipe = dict(sampling="users", dense_loss=True, target_weight=0.0, full_softmax=True, export=False, epochs=1,
                  metrics_out=str(tmp_path / "m.json"))

    def first_loss(**kw):
        _train(tiny_log, tmp_path, **recipe, **kw)
        saved = json.loads((tmp_path / "m.json").read_text())
        return saved["exclude_seen"], saved["history"][0]["retrieval_loss"]

    plain, excluding = first_loss(), first_loss(exclude_seen=True)
    assert plain[0] is False and excluding[0] is True
    assert excluding[1] < plain[1] - 0.01, "fewer negatives per target: a lower softmax loss from the first step"
    with pytest.raises(ValueError, match="exclude_seen needs full_softmax"):
        _train(tiny_log, tmp_path, **{**recipe, "full_softmax": False}, exclude_seen=True)


def test_tied_next_events_change_the_loss_only_where_timestamps_tie_and_need_timestamps(tiny_log, tmp_path):
    recipe = dict(sampling="users", dense_loss=True, target_weight=0.0, full_softmax=True, export=False, epochs=1,
                  metrics_out=str(tmp_path / "m.json"))
    items, events = tiny_log

    def first_loss(log, **kw):
        _train(log, tmp_path, **recipe, **kw)
        return json.loads((tmp_path / "m.json").read_text())["history"][0]["retrieval_loss"]

    distinct = [dataclasses.replace(e, timestamp=e.timestamp * 1000 + i) for i, e in enumerate(events)]  # no ties at all
    assert first_loss((items, distinct), tied_next=3) == pytest.approx(first_loss((items, distinct)), rel=1e-6)
    tied = [dataclasses.replace(e, timestamp=e.timestamp // 86400) for e in events]  # days: many events tie
    assert first_loss((items, tied), tied_next=3) != pytest.approx(first_loss((items, tied)), abs=1e-4)
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="tied_next needs timestamps"):
        _train((items, order_only), tmp_path, **recipe, tied_next=2)
    with pytest.raises(ValueError, match="needs dense_loss and full_softmax"):
        _train(tiny_log, tmp_path, **{**recipe, "full_softmax": False}, tied_next=2)


def test_tie_positions_need_timestamps(tiny_log, tmp_path):
    items, events = tiny_log
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="tie_positions needs timestamps"):
        _train((items, order_only), tmp_path, tie_positions=True, export=False, epochs=1)


def test_shuffle_ties_changes_training_only_where_events_share_a_second(tiny_log, tmp_path):
    items, events = tiny_log

    def first_loss(log, **kw):
        _train(log, tmp_path, export=False, epochs=1, metrics_out=str(tmp_path / "m.json"), **kw)
        return json.loads((tmp_path / "m.json").read_text())["history"][0]["retrieval_loss"]

    distinct = [dataclasses.replace(e, timestamp=e.timestamp * 1000 + i) for i, e in enumerate(events)]  # no ties
    assert first_loss((items, distinct), shuffle_ties=True) == first_loss((items, distinct))
    tied = [dataclasses.replace(e, timestamp=e.timestamp // 86400) for e in events]  # days: many events tie
    assert first_loss((items, tied), shuffle_ties=True) != pytest.approx(first_loss((items, tied)), abs=1e-4)
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="shuffle_ties needs timestamps"):
        _train((items, order_only), tmp_path, shuffle_ties=True, export=False, epochs=1)


def test_query_time_next_needs_timestamps_and_a_time_signal(tiny_log, tmp_path):
    items, events = tiny_log
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="query_time next needs timestamps"):
        _train((items, order_only), tmp_path, query_time="next", export=False, epochs=1)
    with pytest.raises(ValueError, match="time_signal none gives the model no time"):
        _train(tiny_log, tmp_path, query_time="next", time_signal="none", export=False, epochs=1)


def test_enhancer_with_the_dense_loss_alone_adds_its_favourites_to_the_full_softmax(tiny_log, tmp_path):
    recipe_c = dict(sampling="users", dense_loss=True, target_weight=0.0, readout="last_event", tied_embeddings=True,
                    similarity="dot", full_softmax=True, dense_rank=True, export=False, metrics_out=str(tmp_path / "m.json"))

    def history(**kw):
        _train(tiny_log, tmp_path, **recipe_c, **kw)
        return json.loads((tmp_path / "m.json").read_text())["history"]

    plain = [h["retrieval_loss"] for h in history()]  # the dense loss alone
    # threshold 0: each request's 5 retrieved candidates are all potential favourites, each weighing half
    # a dense target: + 5 * 0.5 * ~log(50 items) / ~9 targets per request ~ +1: far above any drift
    enhanced = history(enhancer=True, enhancer_top=5, favourite_threshold=0.0)
    assert enhanced[0]["retrieval_loss"] > plain[0] + 0.3, (enhanced, plain)
    assert enhanced[0]["favourites_per_request"] == 5.0 and enhanced[0]["hard_per_request"] == 0.0
    # threshold above any probability: no favourites, and (full softmax) no hard negative to add: recipe C itself
    none = history(enhancer=True, enhancer_top=5, favourite_threshold=1.1)
    assert [h["retrieval_loss"] for h in none] == plain and none[0]["favourites_per_request"] == 0.0


def test_fixed_divisor_covers_the_dense_ranking_bce_too(tiny_log, tmp_path):
    """Its divisor: one ranked history event per dense target + each row's target (no random negatives
    on a labelled log); without dense_rank the ranking loss keeps its per-batch mean (no such line)."""
    def logged(**kw):
        lines = []
        items, events = tiny_log
        train(items, events, out=str(tmp_path / "b"), data_desc="tiny", seed=1, epochs=1, max_history=10, d_model=16,
              batch_size=32, log=lines.append, sampling="users", dense_loss=True, target_weight=0.0,
              dense_divisor="fixed", export=False, **kw)
        return lines
    lines = logged(dense_rank=True)
    dense = [float(line.split()[6]) for line in lines if line.startswith("dense loss divided")]
    rank = [float(line.split()[7]) for line in lines if line.startswith("dense ranking BCE divided")]
    assert len(dense) == 1 and rank == [pytest.approx(dense[0] + 32, abs=0.11)]
    assert not any(line.startswith("dense ranking BCE") for line in logged())


def test_dense_ranking_in_user_epochs_trains_and_exports(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, sampling="users", dense_loss=True, target_weight=0.0, readout="last_event",
               tied_embeddings=True, dense_rank=True, block="hstu", metrics_out=str(tmp_path / "m.json"))
    assert 0.0 <= m["auc"] <= 1.0 and json.loads((tmp_path / "m.json").read_text())["dense_rank"] is True
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["training"]["onnx_parity_max_abs_err"] <= 1e-5


def test_a_stop_request_ends_training_after_the_step_and_still_tests_and_exports(tiny_log, tmp_path):
    """SIGUSR1 (or a first Ctrl-C) mid-epoch: that epoch is validated, then the best epoch is
    tested and the bundle exported, as after a normal end."""
    import os
    import signal
    sent = []

    def log(line, *_):
        if "step 1/" in line and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGUSR1)

    items, events = tiny_log
    m = train(items, events, out=str(tmp_path / "b"), data_desc="tiny", seed=1, epochs=5, max_history=10,
              d_model=16, batch_size=16, examples_per_epoch=64, negatives=32, progress_every=1, select_best=True,
              metrics_out=str(tmp_path / "m.json"), log=log)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert sent and saved["epochs_run"] == 1 and "valid_ndcg@10" in saved["history"][0]
    assert set(m) >= {"hr@10", "ndcg@10"}
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["training"]["onnx_parity_max_abs_err"] <= 1e-5
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, "the handler is removed after training"


def test_select_on_auc_tests_the_epoch_with_the_best_validation_auc(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, epochs=5, seed=3, select_best=True, select_on="auc", export=False,
               metrics_out=str(tmp_path / "m.json"))
    saved = json.loads((tmp_path / "m.json").read_text())
    aucs = [h["valid_auc"] for h in saved["history"]]
    ndcgs = [h["valid_ndcg@10"] for h in saved["history"]]
    assert saved["select_on"] == "auc" and saved["selected_epoch"] == 1 + aucs.index(max(aucs))
    assert aucs.index(max(aucs)) != ndcgs.index(max(ndcgs)), "this seed must tell the two criteria apart"
    assert not math.isnan(m["auc"])


def test_selecting_on_auc_without_negative_labels_is_refused_before_training(tiny_log, tmp_path):
    items, events = tiny_log
    positives_only = [dataclasses.replace(e, label=1) for e in events]
    with pytest.raises(ValueError, match="no event has a negative label"):
        _train((items, positives_only), tmp_path, select_best=True, select_on="ndcg@10+auc", export=False)


def test_selection_criteria_and_the_clear_error_without_labels():
    val = {"ndcg@10": 0.1, "auc": 0.8}
    assert selection_score(val, "ndcg@10") == 0.1 and selection_score(val, "auc") == 0.8
    assert selection_score(val, "ndcg@10+auc") == pytest.approx(0.9)
    with pytest.raises(ValueError, match="no negative labels"):
        selection_score({"ndcg@10": 0.1, "auc": float("nan")}, "ndcg@10+auc")


def test_the_dense_loss_alone_on_a_log_with_searches_trains_its_search_path(tiny_log, tmp_path):
    recipe = dict(sampling="users", dense_loss=True, target_weight=0.0, readout="last_event", tied_embeddings=True,
                  similarity="dot", full_softmax=True, search_queries="path", export=False)
    with pytest.raises(ValueError, match="search path would stay untrained"):
        _train(tiny_log, tmp_path, dense_search=False, **recipe)
    logged = []
    m = _train(tiny_log, tmp_path, rerank_top=20, co_occurrence=5, log=logged.append, metrics_out=str(tmp_path / "m.json"),
               **recipe)
    assert 0.0 <= m["search_model_hr@10"] <= 1.0
    # and what a search with "rank": true returns, with the bundle's weights, the co-occurrence term included
    assert 0.0 <= m["search_model_blend20_hr@10"] <= 1.0 and "search_model_no_history_blend20_hr@10" not in m
    assert ("search_model_blend20_without_prior_hr@10" in m) == (json.loads((tmp_path / "m.json").read_text())
                                                                 ["co_occurrence_weight"] > 0)
    assert any(line.startswith("search test, model:") and "served order" in line for line in logged)
    # BM25's top 100 rescored (the plugin's rescorer over a `match` query), with the served score and with the head's
    assert "search_bm25_rescored100_head_hr@10" in m
    assert ("search_bm25_rescored100_hr@10" in m) == (json.loads((tmp_path / "m.json").read_text())["retrieval_weight"] > 0)


def test_events_of_items_missing_from_the_items_file_are_dropped_and_counted(tiny_log, tmp_path):
    items, events = tiny_log
    gone = {it.item_id for it in items[-3:]}
    lines = []
    _train((items[:-3], events), tmp_path, log=lines.append, export=False)
    dropped = sum(e.item_id in gone for e in events)
    assert dropped and any(line.startswith(f"dropped {dropped} events whose item is not in the items file "
                                           "(3 item ids") for line in lines), lines


def test_a_log_that_cannot_train_is_refused_with_the_reason(tiny_log, tmp_path):
    items, events = tiny_log
    other = [dataclasses.replace(it, item_id="x" + it.item_id) for it in items]
    with pytest.raises(ValueError, match="none of the .* events names an item of the items file"):
        _train((other, events), tmp_path)
    first_two = [e for e in events if sum(o.user_id == e.user_id and o.timestamp <= e.timestamp for o in events) <= 2]
    with pytest.raises(ValueError, match="no user has the events that protocol loo holds out"):
        _train((items, first_two), tmp_path)


def test_a_catalogue_smaller_than_a_history_still_exports(tmp_path):
    """Five items, histories that cover them all: the golden top 10 of such a request is empty, not a crash."""
    items = [Item(f"i{j}", f"item {j}", ("c",)) for j in range(5)]
    events = [Event(f"u{u}", f"i{(u + t) % 5}", "click", 1_700_000_000 + 60 * t) for u in range(20) for t in range(12)]
    _train((items, events), tmp_path, epochs=1)
    golden = json.loads((tmp_path / "b" / "golden.json").read_text())
    assert any(case["expected"]["ranked_top10"] == [] for case in golden["cases"])


def test_decays_now_counts_validations_since_the_best_one():
    assert [decays_now(e, 10, 1, 5) for e in (10, 14, 15, 19, 20)] == [False, False, True, False, True]
    assert [decays_now(e, 10, 2, 5) for e in (18, 20, 30)] == [False, True, True], "eval_every 2: 5 validations = 10 epochs"
    assert not decays_now(15, 10, 1, 0), "0: a constant learning rate"


def test_the_learning_rate_decays_after_validations_without_a_better_one(tiny_log, tmp_path):
    _train(tiny_log, tmp_path, epochs=8, lr=0.05, lr_decay_patience=1, lr_decay=0.5, eval_every=1,
           metrics_out=str(tmp_path / "m.json"), export=False)
    history = json.loads((tmp_path / "m.json").read_text())["history"]
    best, want = -1.0, [0.05]  # the rate each epoch should have started with, from the validations before it
    for h in history[:-1]:
        score = h["valid_ndcg@10"]
        want.append(want[-1] if score > best else want[-1] * 0.5)
        best = max(best, score)
    assert want[-1] < want[0], "this log gave validations without a better one (else the test shows nothing)"
    assert [h["lr"] for h in history] == pytest.approx(want)


def test_item_id_dropout_needs_item_text_and_trains_with_it(tiny_log, tmp_path):
    with pytest.raises(ValueError, match="item_id_dropout .* no item text"):
        _train(tiny_log, tmp_path, item_text=False, item_id_dropout=0.3)
    with pytest.raises(ValueError, match="probability below 1"):
        _train(tiny_log, tmp_path, item_id_dropout=1.0)
    m = _train(tiny_log, tmp_path, item_id_dropout=0.3, export=False)
    assert {"cold_hr@10", "cold_ndcg@10"} <= set(m), "a model with item text reports how its text alone retrieves"


def test_ranks_out_holds_each_test_event_once_with_the_ranks_behind_the_test_metrics(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, epochs=1, export=False, ranks_out=str(tmp_path / "r.jsonl"))
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    items, events = tiny_log
    assert len(rows) == len({e.user_id for e in events}) == len({r["user"] for r in rows})  # leave-one-out: one per user
    from_ranks = rank_metrics(np.array([r["rank"] for r in rows]))
    assert from_ranks["hr@10"] == pytest.approx(m["hr@10"], abs=1e-4)
    assert from_ranks["ndcg@10"] == pytest.approx(m["ndcg@10"], abs=1e-4)
    by_user = {}
    for e in events:
        by_user.setdefault(e.user_id, []).append(e)
    for r in rows:                    # the held-out event is the user's last; its gap is to the event before it
        log = sorted(by_user[r["user"]], key=lambda e: e.timestamp)
        assert r["item"] == log[-1].item_id and r["history"] == r["position"] == len(log) - 1
        assert r["seconds_since_previous"] == log[-1].timestamp - log[-2].timestamp


def test_scores_out_holds_the_scores_behind_the_validation_and_test_metrics(tiny_log, tmp_path):
    m = _train(tiny_log, tmp_path, epochs=1, export=False, scores_out=str(tmp_path / "s.npz"))
    saved = np.load(tmp_path / "s.npz")
    items, events = tiny_log
    for split in ("valid", "test"):
        examples, scores = saved[f"{split}_examples"], saved[f"{split}_scores"]
        assert len(examples) == len(scores) == len({e.user_id for e in events}) == len(set(examples[:, 0]))
        assert scores.shape[1] == len(items) + 1 and np.isneginf(scores[:, 0]).all()  # column 0 pads, never ranked
        target = scores[np.arange(len(scores)), examples[:, 2]]
        assert np.isfinite(target).all()
        if split == "test":          # the test ranks these scores give are the run's test metrics
            ranks = (scores >= target[:, None]).sum(1) - 1
            assert rank_metrics(ranks)["ndcg@10"] == pytest.approx(m["ndcg@10"], abs=1e-4)
            assert rank_metrics(ranks)["hr@10"] == pytest.approx(m["hr@10"], abs=1e-4)
    valid, test = saved["valid_examples"], saved["test_examples"]
    by_user = dict(zip(test[:, 0], test[:, 1]))   # validation holds out the event before the test event
    assert all(by_user[u] == t + 1 for u, t, _ in valid)


def test_scores_out_excludes_each_request_history_but_not_its_target(tiny_log, tmp_path):
    _train(tiny_log, tmp_path, epochs=1, export=False, scores_out=str(tmp_path / "s.npz"))
    saved = np.load(tmp_path / "s.npz")
    items, events = tiny_log
    index = {it.item_id: i + 1 for i, it in enumerate(items)}     # column i holds items[i - 1]
    logs = {}
    for e in events:
        logs.setdefault(e.user_id, []).append(e)
    users = sorted(logs)                                          # seqs are in user id order
    for (u, t, target), row in zip(saved["test_examples"], saved["test_scores"]):
        log = sorted(logs[users[u]], key=lambda e: e.timestamp)
        assert index[log[t].item_id] == target
        history = {index[e.item_id] for e in log[:t]} - {target}
        assert set(np.flatnonzero(np.isneginf(row))) == history | {0}


def test_a_real_search_log_trains_and_exports_with_its_queries(jdsearch_sample, tmp_path):
    """JDsearch's sample: real queries (term ids) on history events and on each held-out event. The export checks ONNX
    parity on golden requests drawn from the log, so those requests carry the log's own queries."""
    ds = load_jdsearch(jdsearch_sample)
    metrics = train(ds.items, ds.events, out=str(tmp_path / "b"), data_desc="jdsearch sample", epochs=1,
                    d_model=16, batch_size=32, negatives=32, log=lambda *_: None, metrics_out=str(tmp_path / "m.json"))
    assert json.loads((tmp_path / "m.json").read_text())["split"]["test_users"] == 3 and "hr@10" in metrics
    golden = json.loads((tmp_path / "b" / "golden.json").read_text())
    queries = {e["query"] for case in golden["cases"] for e in case["request"].get("history", []) if "query" in e}
    assert len(queries & {e.query for e in ds.events}) >= 5
