import json

import numpy as np
import onnxruntime as ort
import pytest

from conftest import ACTIONS, MAX_HISTORY, MAX_Q
from genrec_trainer.encoding import SLOT_INPUTS, encode_graph_feed
from genrec_trainer.export import (ENCODE_INPUTS, check_new_item_parity, check_onnx_parity, default_golden_requests,
                                   export_bundle, golden_feed, score_feed)
from genrec_trainer.rotary_rows import ROTARY_COS, ROTARY_IDS, ROTARY_SIN


@pytest.fixture(scope="module")
def bundle(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    requests = default_golden_requests(tiny.items, tiny.events, ACTIONS, MAX_HISTORY, n_candidates=20)
    export_bundle(tiny.model, out, items=tiny.items, vocab=tiny.vocab, actions=ACTIONS, max_history=MAX_HISTORY,
                  max_query_tokens=MAX_Q, model_id="tiny", model_version="0", golden_requests=requests,
                  training={"data": "tiny", "data_fingerprint": "sha256:x", "seed": 0, "epochs": 0, "metrics": {}},
                  ranking={"retrieval_weight": SERVED_WEIGHT}, new_history_items=True)
    return out


SERVED_WEIGHT = 5.0  # the bundle's served blend (manifest ranking.retrieval_weight), in its golden top ten too


def _sessions(out):
    return (ort.InferenceSession(str(out / "encode.onnx"), providers=["CPUExecutionProvider"]),
            ort.InferenceSession(str(out / "score.onnx"), providers=["CPUExecutionProvider"]))


def test_bundle_files_and_manifest(bundle, tiny):
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["format_version"] == 3 and m["items"]["count"] == len(tiny.items)
    for f in ("encode.onnx", "score.onnx", "items.jsonl", "item_embeddings.f32", "vocab.txt", "golden.json"):
        assert (bundle / f).is_file()
    rows = [json.loads(line) for line in (bundle / "items.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(1, len(tiny.items) + 1))
    emb = np.fromfile(bundle / "item_embeddings.f32", dtype="<f4").reshape(len(rows), m["embedding_dim"])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert (bundle / "vocab.txt").read_text().splitlines()[:2] == ["[PAD]", "[UNK]"]
    enc, sco = _sessions(bundle)
    assert [i.name for i in enc.get_inputs()] == m["graphs"]["encode"]["inputs"]
    assert [o.name for o in sco.get_outputs()] == m["graphs"]["score"]["outputs"]
    # since format 2: the cache one tensor per layer, in the score graph's layout (docs/bundle-format.md)
    assert m["architecture"]["layers"] == 2
    cache = ["cache_keys_0", "cache_keys_1", "cache_values_0", "cache_values_1"]
    assert [o.name for o in enc.get_outputs()] == m["graphs"]["encode"]["outputs"] == ["embedding", *cache, "cache_mask"]
    assert [i.name for i in sco.get_inputs()] == m["graphs"]["score"]["inputs"] == [*cache, "candidates"]


def test_onnx_matches_pytorch_with_free_padding(bundle, tiny):
    """ORT on golden inputs padded differently (B = 2, extra left padding, longer queries and item texts; one row
    with items added after training in its history, one without)."""
    golden = json.loads((bundle / "golden.json").read_text())
    assert check_onnx_parity(bundle, golden) <= 1e-5
    enc, sco = _sessions(bundle)
    a, b = golden["cases"][0], next(c for c in golden["cases"] if c["name"] == "new_items_in_history")
    n = max(len(a["inputs"]["history_items"][0]), len(b["inputs"]["history_items"][0])) + 2
    item_text_width = tiny.model.cfg.max_item_tokens + 2

    def padded(case, name):
        x = np.asarray(case["inputs"][name], np.int64)[0]
        if name == "query_tokens":
            return np.pad(x, (0, 3))
        tail = {"history_query_tokens": [(0, 5)], "history_item_tokens": [(0, item_text_width - x.shape[-1])]}
        return np.pad(x, [(n - len(x), 0)] + tail.get(name, []))
    model_inputs = [*ENCODE_INPUTS, "history_item_tokens"]
    feeds = {name: np.stack([padded(a, name), padded(b, name)]) for name in model_inputs}
    # the rotary rows of the padded batch, as the runtime makes them
    encoded = enc.run(None, encode_graph_feed(json.loads((bundle / "manifest.json").read_text()), feeds))
    emb = encoded[0]
    cands = np.asarray([a["inputs"]["candidates"][0], b["inputs"]["candidates"][0]], np.int64)
    (scores,) = sco.run(None, score_feed(encoded, cands))
    for row, case in enumerate((a, b)):
        np.testing.assert_allclose(emb[row], case["expected"]["embedding"], atol=1e-5)
        np.testing.assert_allclose(scores[row], case["expected"]["scores"], atol=1e-5)


def test_golden_cases_encoding(bundle):
    golden = json.loads((bundle / "golden.json").read_text())
    cases = {c["name"]: c for c in golden["cases"]}
    assert len(cases) >= 4 and golden["tolerance"] == 1e-4
    unk = cases["unknown_items_dropped"]
    assert unk["expected"]["dropped_history_items"] == 2
    assert len(unk["inputs"]["history_items"][0]) == len(unk["request"]["history"]) - 2
    trunc = cases["history_truncated"]
    hist = sorted(trunc["request"]["history"], key=lambda e: e["time"])
    assert len(hist) > MAX_HISTORY and len(trunc["inputs"]["history_items"][0]) == MAX_HISTORY
    items = [json.loads(line)["item_id"] for line in (bundle / "items.jsonl").read_text().splitlines()]
    assert [items[i - 1] for i in trunc["inputs"]["history_items"][0]] == [e["item"] for e in hist[-MAX_HISTORY:]]
    same = cases["equal_timestamps_stable_order"]
    req = same["request"]["history"]
    want = [req[4]["item"]] + [e["item"] for e in req[:4]] + [req[5]["item"]]  # earlier time first, then given order
    assert [items[i - 1] for i in same["inputs"]["history_items"][0]] == want
    assert same["inputs"]["history_age_seconds"][0][-1] == 0  # event after request time: age clamped
    empty = cases["empty_history_with_query"]
    assert empty["inputs"]["history_items"] == [[0]] and empty["inputs"]["history_query_tokens"] == [[[0] * MAX_Q]]
    assert any(t > 1 for t in empty["inputs"]["query_tokens"][0])
    search = cases["search_with_history"]
    assert 1 in search["inputs"]["query_tokens"][0]  # the made-up word maps to [UNK]
    assert any(any(t) for t in cases["history_event_queries"]["inputs"]["history_query_tokens"][0])


def test_ranked_top10_reproducible_from_bundle_files(bundle):
    """Recompute ranked_top10 from the files alone, as the plugin serves it: the top 50 by similarity
    ordered by log sigmoid(logit) + w * similarity, w from the manifest."""
    golden = json.loads((bundle / "golden.json").read_text())
    weight = json.loads((bundle / "manifest.json").read_text())["ranking"]["retrieval_weight"]
    assert weight == SERVED_WEIGHT
    head_alone_differs = False
    items = [json.loads(line)["item_id"] for line in (bundle / "items.jsonl").read_text().splitlines()]
    emb_table = np.fromfile(bundle / "item_embeddings.f32", dtype="<f4").reshape(len(items), -1)
    enc, sco = _sessions(bundle)
    for case in golden["cases"]:
        encoded = enc.run(None, golden_feed(enc, case))
        emb = encoded[0]
        hist = {e["item"] for e in case["request"]["history"]}
        cos = emb_table @ emb[0]
        top = [i for i in sorted(range(len(items)), key=lambda i: (-cos[i], i)) if items[i] not in hist][:50]
        (s,) = sco.run(None, score_feed(encoded, np.asarray([[i + 1 for i in top]], np.int64)))
        served = -np.logaddexp(0.0, -s[0].astype(np.float64)) + weight * cos[top]
        ranked = [items[i] for _, i in sorted(zip(-served, top))][:10]
        assert ranked == case["expected"]["ranked_top10"], case["name"]
        head_alone_differs |= ranked != [items[i] for _, i in sorted(zip(-s[0], top))][:10]
    assert head_alone_differs, "the blend should change some top ten, or this test cannot tell it was applied"


def test_parity_check_fails_loudly(bundle):
    golden = json.loads((bundle / "golden.json").read_text())
    golden["cases"][0]["expected"]["scores"][0] += 1e-3
    with pytest.raises(RuntimeError, match="ONNX parity failed"):
        check_onnx_parity(bundle, golden)


def test_new_items_golden_cases_are_tokenized_as_the_contract_says(bundle, tiny):
    """Item text = categories, then title, one lowercase_alnum text cut at max_item_tokens (docs/bundle-format.md)."""
    m = json.loads((bundle / "manifest.json").read_text())
    golden = json.loads((bundle / "golden.json").read_text())
    cases = {c["name"]: c for c in golden["new_items"]["items"]}
    max_tokens = m["items"]["max_item_tokens"]
    assert max_tokens == tiny.model.cfg.max_item_tokens and len(cases) >= 5
    vocab = tiny.vocab.index
    first = tiny.items[0]
    want = [vocab[t] for t in " ".join([*first.categories, first.title]).lower().split()][:max_tokens]
    assert cases["catalogue_text_new_id"]["item_tokens"][0] == want + [0] * (max_tokens - len(want))
    cut = cases["title_cut_at_max_item_tokens"]["item_tokens"][0]
    assert 0 not in cut and cut[0] == vocab[tiny.items[2].categories[0].lower()]  # the cut falls on the title, not the categories
    assert 1 in cases["unknown_words_and_case"]["item_tokens"][0]  # [UNK]
    assert set(cases["unknown_words_only"]["item_tokens"][0]) == {0, 1}
    assert cases["title_only"]["item_tokens"][0][0] == vocab[tiny.items[4].title.split()[0].lower()]


def test_item_encoder_embeds_a_new_item_by_its_text_alone(bundle, tiny):
    """The graph is model.cold_item_embeddings: a catalogue item's text under a new id gets its text half, not
    the trained item's vector (which adds the learned id row)."""
    m = json.loads((bundle / "manifest.json").read_text())
    spec = m["graphs"]["item_encoder"]
    assert spec == {"file": "item_encoder.onnx", "inputs": ["item_tokens"], "outputs": ["embedding", "candidate_row"]}
    golden = json.loads((bundle / "golden.json").read_text())
    case = next(c for c in golden["new_items"]["items"] if c["name"] == "catalogue_text_new_id")
    graph = ort.InferenceSession(str(bundle / spec["file"]), providers=["CPUExecutionProvider"])
    row = tiny.model.item_tokens[1:2].numpy()
    emb, candidate_row = graph.run(None, {"item_tokens": row})
    np.testing.assert_allclose(emb[0], case["embedding"], atol=1e-5)
    np.testing.assert_allclose(candidate_row[0], case["candidate_row"], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(emb[0]), 1.0, atol=1e-5)
    trained = np.fromfile(bundle / "item_embeddings.f32", dtype="<f4").reshape(m["items"]["count"], -1)[0]
    assert np.abs(trained - emb[0]).max() > 1e-2
    padded = graph.run(None, {"item_tokens": np.pad(row, ((0, 0), (0, 3)))})  # any amount of right padding
    np.testing.assert_allclose(padded[0], emb, atol=1e-6)
    np.testing.assert_allclose(padded[1], candidate_row, atol=1e-6)


def test_score_rows_ranks_an_item_by_its_row_as_score_ranks_it_by_its_index(bundle, tiny):
    """Given a trained item's own candidate row, score_rows returns what score returns for its index; given the row of
    its text alone (item_encoder), the score of that item as an item added after training (golden new_items)."""
    import torch
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["graphs"]["score_rows"]["inputs"] == [*m["graphs"]["score"]["inputs"][:-1], "candidate_rows"]
    golden = json.loads((bundle / "golden.json").read_text())
    enc, sco = _sessions(bundle)
    rows_graph = ort.InferenceSession(str(bundle / "score_rows.onnx"), providers=["CPUExecutionProvider"])
    case = golden["cases"][0]
    encoded = enc.run(None, golden_feed(enc, case))
    candidates = np.asarray(case["inputs"]["candidates"], np.int64)
    (by_index,) = sco.run(None, score_feed(encoded, candidates))
    with torch.no_grad():
        own_rows = tiny.model.candidate_table()[torch.from_numpy(candidates)].numpy()
    feed = score_feed(encoded, candidates)
    del feed["candidates"]
    (by_row,) = rows_graph.run(None, feed | {"candidate_rows": own_rows})
    np.testing.assert_allclose(by_row, by_index, atol=1e-5)
    new_rows = np.asarray([[c["candidate_row"] for c in golden["new_items"]["items"]]], np.float32)
    (new_scores,) = rows_graph.run(None, feed | {"candidate_rows": new_rows})
    np.testing.assert_allclose(new_scores[0], golden["new_items"]["scores"][case["name"]], atol=1e-5)
    (alone,) = rows_graph.run(None, feed | {"candidate_rows": new_rows[:, 2:3]})  # M-FALCON: the others change nothing
    np.testing.assert_allclose(alone[0, 0], new_scores[0, 2], atol=1e-5)


def test_new_item_parity_check_fails_loudly(bundle):
    golden = json.loads((bundle / "golden.json").read_text())
    assert check_new_item_parity(bundle, golden) <= 1e-5
    golden["new_items"]["items"][1]["embedding"][0] += 1e-3
    with pytest.raises(RuntimeError, match="ONNX parity failed \\(item_encoder/score_rows\\): new item"):
        check_new_item_parity(bundle, golden)
    golden = json.loads((bundle / "golden.json").read_text())
    golden["new_items"]["scores"][golden["cases"][0]["name"]][0] += 1e-3
    with pytest.raises(RuntimeError, match="new item scores"):
        check_new_item_parity(bundle, golden)


def test_float16_graphs_compute_the_blocks_in_half_precision_behind_a_float32_interface(bundle):
    import onnx
    m = json.loads((bundle / "manifest.json").read_text())
    for graph in ("encode", "score"):
        fp32, fp16 = m["graphs"][graph], m["graphs"][graph + "_fp16"]
        assert fp16["inputs"] == fp32["inputs"] and fp16["outputs"] == fp32["outputs"]
        proto = onnx.load(bundle / fp16["file"])
        for value in (*proto.graph.input, *proto.graph.output):  # the runtime feeds and reads float32/int64
            assert value.type.tensor_type.elem_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64), value.name
        weight_type = {t.name: t.data_type for t in proto.graph.initializer}
        matmul_weights = [weight_type.get(n.input[1]) for n in proto.graph.node if n.op_type == "MatMul"]
        # every block has >= 2 weight matrices (qkv/uvqk and out); heads and text stay float32
        assert matmul_weights.count(onnx.TensorProto.FLOAT16) >= 2 * m["architecture"]["layers"], graph
    err = m["training"]["onnx_fp16_max_abs_err"]
    golden = json.loads((bundle / "golden.json").read_text())
    assert 0 < err <= golden["fp16_tolerance"], "float16 differs from float32, within the stated tolerance"
    assert m["training"]["onnx_parity_max_abs_err"] < err


def test_graphs_project_queries_keys_and_values_straight_into_head_major_layout(bundle):
    """The exported blocks multiply [B, 1, S, D] by one constant [H, D, Dh] per part (model.project_heads),
    not one product reshaped, transposed and split: those three kernels copied it in every call."""
    import onnx
    m = json.loads((bundle / "manifest.json").read_text())
    arch = m["architecture"]
    for graph in ("encode", "score"):
        proto = onnx.load(bundle / m["graphs"][graph]["file"])
        shapes = {t.name: list(t.dims) for t in proto.graph.initializer}
        head_major = [n for n in proto.graph.node
                      if n.op_type == "MatMul" and shapes.get(n.input[1]) == [arch["heads"], arch["d_model"], arch["head_dim"]]]
        assert len(head_major) == 3 * arch["layers"], graph          # q, k and v of every layer
        assert not [n.name for n in proto.graph.node if n.op_type == "Split"], graph


def test_encode_graph_rotates_from_the_candidates_place_and_masks_without_comparing_positions(bundle):
    """The keys leave the encode graph rotated as the candidates see them (positions counted from the request's
    place), so no layer turns them by a [Dh, Dh] product; each rotated tensor is one RotaryEmbedding kernel; the
    causal mask is a Trilu of one fill, not a comparison of positions (with an And and a Where over [S, S])."""
    import onnx
    m = json.loads((bundle / "manifest.json").read_text())
    proto = onnx.load(bundle / m["graphs"]["encode"]["file"])
    producer = {out: n for n in proto.graph.node for out in n.output}
    ops = [n.op_type for n in proto.graph.node]
    for layer in range(m["architecture"]["layers"]):
        keys = producer[f"cache_keys_{layer}"]                             # [k * keep, columns]
        assert keys.op_type == "Concat" and producer[keys.input[0]].op_type == "Mul"
        assert "RotaryEmbedding" in [producer[i].op_type for i in producer[keys.input[0]].input if i in producer]
    assert "Trilu" in ops and "LessOrEqual" not in ops
    assert ops.count("RotaryEmbedding") == 2 * m["architecture"]["layers"]  # q and k of every layer


def test_encode_graph_gathers_history_items_rows_from_one_table(bundle, tiny):
    """Like the score graph's candidates, a history item's representation is a row of a constant
    item_table() in the encode graph, not its id row plus its title tokens' mean computed per call."""
    import onnx
    m = json.loads((bundle / "manifest.json").read_text())
    proto = onnx.load(bundle / m["graphs"]["encode"]["file"])
    shapes = {t.name: list(t.dims) for t in proto.graph.initializer}
    item_shaped = [name for name, dims in shapes.items() if dims[:1] == [len(tiny.items) + 1]]
    assert item_shaped == ["item_rows"] and shapes["item_rows"] == [len(tiny.items) + 1, m["architecture"]["d_model"]]


def test_golden_history_with_items_added_after_training(bundle, tiny):
    """The two new items with text are read at index 0 from their tokens; the one without text is left out; the
    encode graph takes the tokens as its sixth input (models with item text)."""
    golden = json.loads((bundle / "golden.json").read_text())
    case = next(c for c in golden["cases"] if c["name"] == "new_items_in_history")
    inputs = case["inputs"]
    assert case["expected"]["dropped_history_items"] == 1
    new_slots = [j for j, i in enumerate(inputs["history_items"][0]) if i == 0]
    assert len(new_slots) == 2 and len(inputs["history_items"][0]) == len(case["request"]["history"]) - 1
    tokens = inputs["history_item_tokens"][0]
    assert len(tokens[0]) == tiny.model.cfg.max_item_tokens
    assert [j for j, t in enumerate(tokens) if any(t)] == new_slots
    assert set(tokens[new_slots[1]]) <= {0, 1}  # new words only: [UNK]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["graphs"]["encode"]["inputs"][-7:] == ["history_item_tokens", ROTARY_COS, ROTARY_SIN, ROTARY_IDS,
                                                          *SLOT_INPUTS]
    narrow = [c["inputs"]["history_item_tokens"] == [[[0]] * len(c["inputs"]["history_items"][0])]
              for c in golden["cases"] if c is not case]
    assert all(narrow), "a request without a new item gets one padding token per event"
