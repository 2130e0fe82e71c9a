"""Write a model bundle exactly as docs/bundle-format.md (format_version 3) describes.

Golden outputs are computed with the PyTorch model through the same RequestEncoder the contract
describes; the exported ONNX graphs must then reproduce them (max abs error <= 1e-5) or the
export fails.
"""
from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from .cooccurrence import CoOccurrence
from .data import item_tokens
from .encoding import KEY_PADDING, SLOT_COLUMNS, SLOT_INPUTS, SLOT_KEEP, RequestEncoder, runtime_inputs
from .model import GenRecModel, ModelConfig
from .rotary_rows import KEY_ROTARY_IDS, ROTARY_COS, ROTARY_IDS, ROTARY_SIN, RotarySpec
from .schema import Event, Item, finite_or_null, write_jsonl
from .tokenizer import PAD_ID, UNK_ID, Vocab

# 3: the encode graph takes its rotary rows and slot masks from the runtime (rotary_rows.py, encoding.slot_inputs);
# 2: the cache in the score graph's layout, one tensor per layer (1: [L, B, H, T, Dh] stacks)
FORMAT_VERSION = 3
HISTORY_AGE_SECONDS = "history_age_seconds"
ENCODE_INPUTS = ["history_items", "history_actions", HISTORY_AGE_SECONDS, "history_query_tokens", "query_tokens"]
# The encode graph's sixth input in models trained to read an item by its text alone (--item-id-dropout): history events
# of items added after training, read from their text (model.encode's history_item_tokens).
HISTORY_ITEM_TOKENS = "history_item_tokens"
# The encode graph's last input in models that read absolute time (--absolute-time): when the request is made, int64 [B]
# seconds since the epoch, bucketed in the graph (model.absolute_time_bucket).
REQUEST_TIME = "request_time"
SCORE_OUTPUTS = ["scores"]
GOLDEN_TOP_K = 50
# The served order's same-second co-occurrence counts (cooccurrence.py), in bundles trained with --co-occurrence
CO_OCCURRENCE_FILE = "co_occurrence.bin"
GOLDEN_TOLERANCE = 1e-4   # what the Java runtime must meet
ONNX_PARITY = 1e-5        # what the exported graphs must meet against PyTorch here
FP16_TOLERANCE = 5e-2     # the float16 graphs (GPU) against the float32 golden outputs, here and in Java
FP16 = "_fp16"            # graph name and file suffix of the float16 variants
# Optional graphs for items added after training (models with item text): their text -> their retrieval embedding and
# their input row as a ranking candidate; and the score graph over such rows instead of item indices.
ITEM_ENCODER = "item_encoder"
ITEM_ENCODER_INPUTS = ["item_tokens"]
ITEM_ENCODER_OUTPUTS = ["embedding", "candidate_row"]
SCORE_ROWS = "score_rows"


def score_rows_inputs(layers: int) -> list[str]:
    return [*cache_names(layers), "candidate_rows"]


def cache_names(layers: int) -> list[str]:
    """The cache tensors, in graph order: every layer's keys, then every layer's values."""
    return [f"cache_keys_{i}" for i in range(layers)] + [f"cache_values_{i}" for i in range(layers)]


def encode_inputs(new_history_items: bool, request_time: bool, rotary: Sequence[str], ages: bool = True) -> list[str]:
    """ENCODE_INPUTS (HISTORY_AGE_SECONDS only if ages), then the optional ones in this order: HISTORY_ITEM_TOKENS,
    REQUEST_TIME; then those the runtime makes: the rotary rows' (RotarySpec.input_names), the slot masks."""
    return [*(name for name in ENCODE_INPUTS if ages or name != HISTORY_AGE_SECONDS),
            *([HISTORY_ITEM_TOKENS] if new_history_items else []), *([REQUEST_TIME] if request_time else []), *rotary,
            *SLOT_INPUTS]


def reads_ages(model: GenRecModel) -> bool:
    """Whether the encode graph reads history_age_seconds beyond the rotary rows made from them: the time-bucket bias
    and the absolute-time embedding do. (An input the graph does not read is not in the exported graph.)"""
    return model.cfg.time_signal == "bucket" or reads_request_time(model)


def reads_request_time(model: GenRecModel) -> bool:
    return model.cfg.absolute_time_buckets > 0


def encode_outputs(layers: int) -> list[str]:
    return ["embedding", *cache_names(layers), "cache_mask"]


def score_inputs(layers: int) -> list[str]:
    return [*cache_names(layers), "candidates"]


def score_feed(encoded: Sequence[np.ndarray], candidates: np.ndarray) -> dict[str, np.ndarray]:
    """The score graph's inputs from the encode graph's outputs (in encode_outputs order)."""
    layers = (len(encoded) - 2) // 2
    return dict(zip(cache_names(layers), encoded[1:1 + 2 * layers])) | {"candidates": candidates}


class _EncodeGraph(nn.Module):
    def __init__(self, model: GenRecModel, new_history_items: bool = False):
        super().__init__()
        self.model = model
        self.rotary = RotarySpec.of_model(model)
        # every input forward() takes, in order; the exported graph keeps those it reads (graph_inputs)
        self.input_names = encode_inputs(new_history_items, reads_request_time(model), self.rotary.input_names())
        self.graph_inputs = encode_inputs(new_history_items, reads_request_time(model), self.rotary.input_names(),
                                          reads_ages(model))
        # the optional inputs after ENCODE_INPUTS, in input_names order: the graph's inputs are positional
        self.optional = self.input_names[len(ENCODE_INPUTS):]
        with torch.no_grad():  # a constant of the graph: history items' rows, gathered, not computed
            self.register_buffer("item_rows", model.item_table().float().clone())

    def forward(self, history_items, history_actions, history_age_seconds, history_query_tokens, query_tokens, *optional):
        named = dict(zip(self.optional, optional))
        ids = named.pop(ROTARY_IDS)
        rotation = (named.pop(ROTARY_COS), named.pop(ROTARY_SIN), ids, named.pop(KEY_ROTARY_IDS, ids))
        slots = tuple(named.pop(name) for name in SLOT_INPUTS)
        return self.model.encode_served(history_items, history_actions, history_age_seconds, history_query_tokens,
                                        query_tokens, self.item_rows, rotation=rotation, slots=slots, **named)

    def example_inputs(self, b: int, n: int, q: int) -> tuple[torch.Tensor, ...]:
        """Inputs of every kind the graph takes, for tracing: b requests of n events; with history_item_tokens one event
        of an item added after training (index 0, its text given), with request_time times an hour after the events."""
        cfg = self.model.cfg
        inputs = [torch.randint(1, cfg.num_items + 1, (b, n)), torch.ones(b, n, dtype=torch.long),
                  torch.full((b, n), 3600, dtype=torch.long), torch.zeros(b, n, q, dtype=torch.long),
                  torch.zeros(b, q, dtype=torch.long)]
        if HISTORY_ITEM_TOKENS in self.optional:
            inputs[0][0, 0] = 0
            new_item_tokens = torch.zeros(b, n, cfg.max_item_tokens, dtype=torch.long)
            new_item_tokens[0, 0] = torch.randint(1, cfg.vocab_size, (cfg.max_item_tokens,))
            inputs.append(new_item_tokens)
        if REQUEST_TIME in self.optional:
            inputs.append(torch.full((b,), cfg.absolute_time_origin + 3600 * (n + 1), dtype=torch.long))
        made = runtime_inputs(self.rotary, inputs[1].numpy(), inputs[2].numpy())
        return (*inputs, *(torch.from_numpy(made[name]) for name in [*self.rotary.input_names(), *SLOT_INPUTS]))


class _ScoreGraph(nn.Module):
    def __init__(self, model: GenRecModel):
        super().__init__()
        self.model = model
        with torch.no_grad():  # a constant of the graph: candidates' input rows, gathered, not computed
            self.register_buffer("candidate_rows", model.candidate_table().float().clone())

    def forward(self, *cache_and_candidates):
        # score_inputs order: every layer's keys, every layer's values, the candidates
        layers = self.model.cfg.layers
        cache, candidates = cache_and_candidates[:-1], cache_and_candidates[-1]
        return self.model.score_served(cache[:layers], cache[layers:], candidates, self.candidate_rows)


class _ItemEncoderGraph(nn.Module):
    """An item the model was not trained on (added to the catalogue later) has no id row: its retrieval
    embedding is its text's alone (model.cold_item_embeddings), which --item-id-dropout trains for."""

    def __init__(self, model: GenRecModel):
        super().__init__()
        self.model = model

    def forward(self, item_tokens):
        return self.model.cold_item_embeddings(item_tokens), self.model.cold_candidate_rows(item_tokens)


class _ScoreRowsGraph(nn.Module):
    """The score graph with the candidates' input rows as an input: items added after training, whose rows
    come from the item_encoder graph, ranked against the same cache as trained items."""

    def __init__(self, model: GenRecModel):
        super().__init__()
        self.model = model

    def forward(self, *cache_and_rows):
        layers = self.model.cfg.layers
        cache, rows = cache_and_rows[:-1], cache_and_rows[-1]
        return self.model.score_rows_served(cache[:layers], cache[layers:], rows)


def export_new_item_graphs(model: GenRecModel, out_dir: Path) -> None:
    """item_encoder and score_rows, float32 only: a request ranks few new items, so float16 would buy nothing."""
    model.eval()
    tokens = torch.randint(1, model.cfg.vocab_size, (2, model.cfg.max_item_tokens))
    layers = model.cfg.layers
    encode_graph = _EncodeGraph(model)
    cache_axes = {name: {0: "B", 2: "S"} for name in cache_names(layers)}
    with warnings.catch_warnings():  # the same noise as in export_onnx
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
        torch.onnx.export(_ItemEncoderGraph(model), (tokens,), str(out_dir / f"{ITEM_ENCODER}.onnx"), dynamo=False,
                          opset_version=17, input_names=ITEM_ENCODER_INPUTS, output_names=ITEM_ENCODER_OUTPUTS,
                          dynamic_axes={"item_tokens": {0: "B", 1: "MT"}, "embedding": {0: "B"}, "candidate_row": {0: "B"}})
        with torch.no_grad():
            cache = encode_graph(*encode_graph.example_inputs(2, 3, 4))[1:1 + 2 * layers]
            rows = model.cold_candidate_rows(torch.randint(1, model.cfg.vocab_size, (2, 5, model.cfg.max_item_tokens)))
        torch.onnx.export(_ScoreRowsGraph(model), (*cache, rows), str(out_dir / f"{SCORE_ROWS}.onnx"), dynamo=False,
                          opset_version=17, input_names=score_rows_inputs(layers), output_names=SCORE_OUTPUTS,
                          dynamic_axes=cache_axes | {"candidate_rows": {0: "B", 1: "K"}, "scores": {0: "B", 1: "K"}})


def export_onnx(model: GenRecModel, out_dir: Path, suffix: str = "", new_history_items: bool = False) -> None:
    """new_history_items: the encode graph takes history_item_tokens (a model with item text trained to read an item by its
    text alone: --item-id-dropout)."""
    with warnings.catch_warnings():
        # The classic TorchScript exporter is deprecated in torch >= 2.9 but is the robust path
        # for these dynamic-axis graphs; its deprecation notices are noise here.
        warnings.simplefilter("ignore", DeprecationWarning)
        # F.pad's pad widths reach the graph through a step -1 Slice of constants that the exporter
        # does not fold (ONNX Runtime folds it when it loads the graph): also noise.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
        _export_onnx(model, out_dir, suffix, new_history_items)


def half_blocks(model: GenRecModel) -> GenRecModel:
    """A copy whose transformer blocks compute in float16 (the GPU graphs): the blocks hold all the
    FLOPs; embeddings, rotary angles (ages in seconds overflow float16), masks, norms and heads stay
    float32 (model.block_dtype), so the graphs keep the float32 interface the runtime feeds."""
    half = copy.deepcopy(model).eval()
    half.blocks.half()
    return half


def _export_onnx(model: GenRecModel, out_dir: Path, suffix: str, new_history_items: bool) -> None:
    model.eval()
    b, n, q, k = 2, 3, 4, 5  # example sizes; every one of them is a dynamic axis
    encode_graph = _EncodeGraph(model, new_history_items)
    ex_enc = encode_graph.example_inputs(b, n, q)
    optional_axes = {HISTORY_ITEM_TOKENS: {0: "B", 1: "N", 2: "IT"}, REQUEST_TIME: {0: "B"}, ROTARY_COS: {0: "R"},
                     ROTARY_SIN: {0: "R"}, ROTARY_IDS: {0: "B", 1: "S"}, KEY_ROTARY_IDS: {0: "B", 1: "S"},
                     KEY_PADDING: {0: "B", 3: "S"}, SLOT_KEEP: {0: "B", 2: "S"}, SLOT_COLUMNS: {0: "B", 2: "S"}}
    layers = model.cfg.layers
    cache_axes = {name: {0: "B", 2: "S"} for name in cache_names(layers)}  # S = T + 1 slots: history, context, own key
    # History query tokens get their own symbolic axis name: the contract lets the runtime pad
    # them independently of the request query.
    torch.onnx.export(
        encode_graph, ex_enc, str(out_dir / f"encode{suffix}.onnx"), dynamo=False, opset_version=17,
        input_names=encode_graph.input_names, output_names=encode_outputs(layers),
        dynamic_axes={"history_items": {0: "B", 1: "N"}, "history_actions": {0: "B", 1: "N"},
                      "history_age_seconds": {0: "B", 1: "N"},
                      "history_query_tokens": {0: "B", 1: "N", 2: "HQ"}, "query_tokens": {0: "B", 1: "Q"},
                      "embedding": {0: "B"}, "cache_mask": {0: "B", 1: "T"}}
        | {name: optional_axes[name] for name in encode_graph.optional} | cache_axes)
    exported = [i.name for i in onnx.load(out_dir / f"encode{suffix}.onnx", load_external_data=False).graph.input]
    if exported != encode_graph.graph_inputs:  # the exporter drops an input the graph does not read
        raise RuntimeError(f"encode graph takes {exported}, expected {encode_graph.graph_inputs}")
    with torch.no_grad():
        cache = encode_graph(*ex_enc)[1:1 + 2 * layers]
    torch.onnx.export(
        _ScoreGraph(model), (*cache, torch.randint(1, model.cfg.num_items + 1, (b, k))), str(out_dir / f"score{suffix}.onnx"),
        dynamo=False, opset_version=17, input_names=score_inputs(layers), output_names=SCORE_OUTPUTS,
        dynamic_axes=cache_axes | {"candidates": {0: "B", 1: "K"}, "scores": {0: "B", 1: "K"}})


# ---- golden requests -------------------------------------------------------------------------
def _as_request_events(events: Sequence[Event]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        d: dict[str, Any] = {"item": e.item_id, "action": e.action, "time": e.timestamp}
        if e.query is not None:
            d["query"] = e.query
        out.append(d)
    return out


def default_golden_requests(items: Sequence[Item], events: Sequence[Event], actions: Sequence[str],
                            max_history: int, seed: int = 0, n_candidates: int = 20) -> list[dict[str, Any]]:
    """The cases the runtime must reproduce, drawn from real users of the data where possible."""
    rng = np.random.default_rng(seed)
    by_user: dict[str, list[Event]] = {}
    for e in events:
        by_user.setdefault(e.user_id, []).append(e)
    users = [sorted(v, key=lambda e: e.timestamp) for _, v in sorted(by_user.items())]  # stable sort
    item_ids = [it.item_id for it in items]

    def candidates(extra: Sequence[str] = ()) -> list[str]:
        picked = list(dict.fromkeys(extra))[: n_candidates // 2]
        while len(picked) < n_candidates and len(picked) < len(item_ids):
            c = item_ids[int(rng.integers(len(item_ids)))]
            if c not in picked:
                picked.append(c)
        return picked

    def made_up_user() -> list[Event]:
        # Fallback when no real user fits a case (small or unusual logs): a long history over
        # catalogue items with hour gaps and a search every third event.
        n = max_history + 12
        picks = rng.choice(len(item_ids), size=n, replace=len(item_ids) < n)
        words = [w for it in items[:5] for w in it.title.split()][:2] or ["x"]
        return [Event("golden", item_ids[int(p)], actions[j % len(actions)], 1_700_000_000 + 3600 * j,
                      " ".join(words) if j % 3 == 2 else None) for j, p in enumerate(picks)]

    def first(pred):
        return next((u for u in users if pred(u)), None) or made_up_user()

    cases = []
    u = first(lambda s: len(s) >= 12)
    cases.append(("recommendation_with_history", u[:10], None, u[10].timestamp, [e.item_id for e in u[10:]]))

    def search_at(s):  # a search event with at least 5 events before it
        return next((i for i, e in enumerate(s) if e.query and i >= 5), None)
    u = first(lambda s: search_at(s) is not None)
    i = search_at(u)
    # An out-of-vocabulary word exercises [UNK] in the request query.
    cases.append(("search_with_history", u[:i], u[i].query + " Qwertyzz!", u[i].timestamp + 30,
                  [e.item_id for e in u[i:]]))

    u = first(lambda s: len(s) >= 9 and sum(e.query is not None for e in s[:8]) >= 2)
    cases.append(("history_event_queries", u[:8], None, u[8].timestamp + 3600, [e.item_id for e in u[8:]]))

    u = first(lambda s: len(s) >= 7)
    hist = _as_request_events(u[:6])
    hist.insert(2, {"item": "unknown-item-1", "action": actions[0], "time": u[1].timestamp + 1})
    hist.append({"item": "i_not_in_catalogue", "action": actions[-1], "time": u[5].timestamp + 5, "query": "x"})
    cases.append(("unknown_items_dropped", hist, None, u[6].timestamp, [e.item_id for e in u[6:]]))

    # Items added after training in the history, with their text: a bundle that reads new history items reads them by
    # it (one with a catalogue item's text, one of new words only) and leaves out the one without text; other bundles
    # leave out all three.
    u = first(lambda s: len(s) >= 7)
    hist = _as_request_events(u[:6])
    hist.insert(1, {"item": "new-item-1", "action": actions[0], "time": u[0].timestamp + 1,
                    "item_text": {"title": items[0].title, "categories": list(items[0].categories)}})
    hist.insert(4, {"item": "new-item-2", "action": actions[-1], "time": u[2].timestamp + 1,
                    "item_text": {"title": "Qwertyzz Xqzvw", "categories": []}})
    hist.append({"item": "new-item-no-text", "action": actions[0], "time": u[5].timestamp + 5, "item_text": {"title": " "}})
    cases.append(("new_items_in_history", hist, None, u[6].timestamp, [e.item_id for e in u[6:]]))

    cases.append(("empty_history_with_query", [], "  Guitar, PIANO & drum ", 1_700_000_000, []))
    cases.append(("empty_history_no_query", [], None, 1_700_000_000, []))

    u = first(lambda s: len(s) > max_history + 2)
    long_hist = _as_request_events(u[:-1])[::-1]  # given newest-first: the encoder must sort
    cases.append(("history_truncated", long_hist, None, u[-1].timestamp, [u[-1].item_id]))

    u = first(lambda s: len(s) >= 6)
    t0 = u[0].timestamp
    same = _as_request_events(u[:5])
    for j, ev in enumerate(same):  # 4 events in one second, given out of time order with the 5th
        ev["time"] = t0 if j < 4 else t0 - 600
    same.append({"item": u[5].item_id, "action": u[5].action, "time": t0 + 10_000})  # after request: age 0
    cases.append(("equal_timestamps_stable_order", same, None, t0 + 120, []))

    # A page rated at once: the latest second holds four events, one of an item the model does not know. The
    # co-occurrence term (bundles trained with --co-occurrence) reads the three it knows (or, counted by events
    # apart, the known items among its last `span` events).
    u = first(lambda s: len(s) >= 8)
    page = _as_request_events(u[:7])
    for ev in page[4:]:
        ev["time"] = u[6].timestamp
    page.insert(5, {"item": "unknown-item-2", "action": actions[0], "time": u[6].timestamp})
    cases.append(("latest_second_of_several", page, None, u[7].timestamp, [e.item_id for e in u[7:]]))

    out = []
    for name, hist, query, request_time, extra in cases:
        hist = hist if hist and isinstance(hist[0], dict) else _as_request_events(hist)
        out.append({"name": name, "request": {"history": hist, "query": query, "request_time": int(request_time),
                                              "candidates": candidates(extra)}})
    return out


def _ranked_top10(model: GenRecModel, item_emb: np.ndarray, items: Sequence[Item], index: dict[str, int],
                  request: dict[str, Any], embedding: np.ndarray, cache, retrieval_weight: float,
                  prior: Callable[[np.ndarray], np.ndarray]) -> list[str]:
    """Exact top_k by similarity over the catalogue (history items excluded, ties by index), then
    sorted by the served order, log sigmoid(ranking logit) + retrieval_weight * similarity + the co-occurrence term
    prior(candidates) (descending, ties by index ascending; evaluate.ServedWindows): the first ten ids."""
    cos = item_emb @ embedding                                         # [I]; row r = index r + 1
    excluded = {index[e["item"]] for e in request["history"] if e["item"] in index}
    order = [r + 1 for r in np.lexsort((np.arange(len(cos)), -cos)) if r + 1 not in excluded][:GOLDEN_TOP_K]
    if not order:  # a small catalogue that this history covers entirely: nothing left to recommend
        return []
    with torch.no_grad():
        logits = model.score(*cache, torch.tensor([order], dtype=torch.long))[0].numpy().astype(np.float64)
    served = -np.logaddexp(0.0, -logits) + retrieval_weight * cos[np.asarray(order) - 1] + prior(np.asarray(order))
    ranked = sorted(zip(order, served), key=lambda p: (-p[1], p[0]))
    return [items[i - 1].item_id for i, _ in ranked[:10]]


def build_golden(model: GenRecModel, encoder: RequestEncoder, items: Sequence[Item], item_emb: np.ndarray,
                 requests: Sequence[dict[str, Any]], retrieval_weight: float = 0.0,
                 co_occurrence: tuple[CoOccurrence, float] | None = None) -> dict[str, Any]:
    """co_occurrence: the served order's co-occurrence table and weight (cooccurrence.py), None: no such term."""
    model.eval()
    rotary = RotarySpec.of_model(model)
    cases = []
    for case in requests:
        req = case["request"]
        enc = encoder.encode(req["history"], req["query"], req["request_time"])
        cand = np.asarray([[encoder.item_index[c] for c in req["candidates"]]], np.int64)
        with torch.no_grad():
            emb, ck, cv, cm = model.encode(**{k: torch.from_numpy(a) for k, a in enc.graph_inputs().items()})
            scores = model.score(ck, cv, cm, torch.from_numpy(cand))
        inputs = {k: v.tolist() for k, v in enc.onnx_inputs(rotary).items()}
        inputs["candidates"] = cand.tolist()

        def prior(candidates: np.ndarray, context=enc.co_occurrence_context) -> np.ndarray:
            return 0.0 if co_occurrence is None else co_occurrence[1] * co_occurrence[0].prior(context, candidates)
        expected = {"embedding": emb[0].tolist(), "scores": scores[0].tolist(),
                    "dropped_history_items": enc.dropped_history_items, "top_k": GOLDEN_TOP_K,
                    "retrieval_weight": retrieval_weight,
                    "ranked_top10": _ranked_top10(model, item_emb, items, encoder.item_index, req, emb[0].numpy(),
                                                  (ck, cv, cm), retrieval_weight, prior)}
        if co_occurrence is not None:  # what the runtime must read of the request, and the term it adds per candidate
            expected["co_occurrence_context"] = enc.co_occurrence_context.tolist()
            expected["co_occurrence_prior"] = co_occurrence[0].prior(enc.co_occurrence_context, cand[0]).tolist()
        cases.append({"name": case["name"], "request": req, "inputs": inputs, "expected": expected})
    return {"tolerance": GOLDEN_TOLERANCE, "fp16_tolerance": FP16_TOLERANCE, "cases": cases}


def default_new_items(items: Sequence[Item], max_item_tokens: int) -> list[dict[str, Any]]:
    """Items as a catalogue gains them after training, drawn from the catalogue's own words: the runtime must
    tokenize each (categories, then title) and embed it as the trainer does."""
    def pick(i: int) -> Item:
        return items[i % len(items)]
    long_title = " ".join([pick(2).title] * (max_item_tokens + 1))
    return [
        {"name": "catalogue_text_new_id", "title": pick(0).title, "categories": list(pick(0).categories)},
        {"name": "unknown_words_and_case", "title": "BRAND-new Qwertyzz, " + pick(1).title.upper() + " (2026)!",
         "categories": list(pick(1).categories)},
        {"name": "title_cut_at_max_item_tokens", "title": long_title, "categories": list(pick(2).categories)},
        {"name": "categories_only", "title": "", "categories": list(pick(3).categories) + ["Qwertyzz"]},
        {"name": "title_only", "title": pick(4).title, "categories": []},
        {"name": "unknown_words_only", "title": "Qwertyzz Xqzvw", "categories": []},
    ]


def build_new_item_golden(model: GenRecModel, encoder: RequestEncoder, vocab: Vocab, new_items: Sequence[dict[str, Any]],
                          requests: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each new item's token ids, its retrieval embedding and candidate row from its text alone (the item_encoder
    graph's outputs), and, for every golden request, the ranking logit of each new item as a candidate (score_rows)."""
    model.eval()
    items = []
    for item in new_items:
        tokens = item_tokens(vocab, item["title"], item["categories"], model.cfg.max_item_tokens)
        with torch.no_grad():
            emb = model.cold_item_embeddings(torch.tensor([tokens]))
            row = model.cold_candidate_rows(torch.tensor([tokens]))
        items.append({"name": item["name"], "item": {"title": item["title"], "categories": item["categories"]},
                      "item_tokens": [tokens], "embedding": emb[0].tolist(), "candidate_row": row[0].tolist()})
    rows = torch.tensor([[c["candidate_row"] for c in items]])                  # [1, new items, D]
    scores = {}
    for case in requests:
        req = case["request"]
        enc = encoder.encode(req["history"], req["query"], req["request_time"])
        with torch.no_grad():
            served = model.encode_served(**{k: torch.from_numpy(a) for k, a in enc.graph_inputs().items()},
                                         item_table=model.item_table())
            layers = model.cfg.layers
            cache = served[1:1 + 2 * layers]
            scores[case["name"]] = model.score_rows_served(cache[:layers], cache[layers:], rows)[0].tolist()
    return {"items": items, "scores": scores}


def golden_feed(session: ort.InferenceSession, case: dict[str, Any]) -> dict[str, np.ndarray]:
    """A golden case's inputs as the graph's feed: int64 tensors, the rotary rows and slot masks float32."""
    return {i.name: np.asarray(case["inputs"][i.name], np.float32 if i.type == "tensor(float)" else np.int64)
            for i in session.get_inputs()}


def check_new_item_parity(out_dir: Path, golden: dict[str, Any], tolerance: float = ONNX_PARITY) -> float:
    """The item_encoder graph on every new item and the score_rows graph on its rows for every golden request, against
    the PyTorch outputs in golden["new_items"]; raise beyond tolerance."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    items = ort.InferenceSession(str(out_dir / f"{ITEM_ENCODER}.onnx"), opts, providers=["CPUExecutionProvider"])
    rows_graph = ort.InferenceSession(str(out_dir / f"{SCORE_ROWS}.onnx"), opts, providers=["CPUExecutionProvider"])
    enc = ort.InferenceSession(str(out_dir / "encode.onnx"), opts, providers=["CPUExecutionProvider"])
    assert [i.name for i in items.get_inputs()] == ITEM_ENCODER_INPUTS
    assert [o.name for o in items.get_outputs()] == ITEM_ENCODER_OUTPUTS
    layers = (len(enc.get_outputs()) - 2) // 2
    assert [i.name for i in rows_graph.get_inputs()] == score_rows_inputs(layers)
    worst = 0.0

    def check(what: str, got: np.ndarray, want) -> None:
        nonlocal worst
        err = float(np.max(np.abs(got - np.asarray(want, np.float32))))
        worst = max(worst, err)
        if not err <= tolerance:
            raise RuntimeError(f"ONNX parity failed ({ITEM_ENCODER}/{SCORE_ROWS}): {what}: max abs err {err:.3g} > {tolerance:g}")
    rows = []
    for case in golden["new_items"]["items"]:
        emb, row = items.run(None, {"item_tokens": np.asarray(case["item_tokens"], np.int64)})
        check(f"new item {case['name']!r} embedding", emb[0], case["embedding"])
        check(f"new item {case['name']!r} candidate_row", row[0], case["candidate_row"])
        rows.append(row[0])
    for case in golden["cases"]:
        encoded = enc.run(None, golden_feed(enc, case))
        feed = dict(zip(cache_names(layers), encoded[1:1 + 2 * layers])) | {"candidate_rows": np.stack(rows)[None]}
        (scores,) = rows_graph.run(None, feed)
        check(f"case {case['name']!r} new item scores", scores[0], golden["new_items"]["scores"][case["name"]])
    return worst


def check_onnx_parity(out_dir: Path, golden: dict[str, Any], tolerance: float = ONNX_PARITY,
                      suffix: str = "") -> float:
    """Run every golden case through onnxruntime (CPU; the float16 graphs with suffix FP16); raise
    if any output drifts beyond tolerance from the PyTorch float32 outputs."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(out_dir / f"encode{suffix}.onnx"), opts, providers=["CPUExecutionProvider"])
    sco = ort.InferenceSession(str(out_dir / f"score{suffix}.onnx"), opts, providers=["CPUExecutionProvider"])
    layers = (len(enc.get_outputs()) - 2) // 2
    names = [i.name for i in enc.get_inputs()]
    assert names == encode_inputs(HISTORY_ITEM_TOKENS in names, REQUEST_TIME in names,
                                  names[names.index(ROTARY_COS):names.index(KEY_PADDING)], HISTORY_AGE_SECONDS in names), names
    assert [o.name for o in enc.get_outputs()] == encode_outputs(layers)
    assert [i.name for i in sco.get_inputs()] == score_inputs(layers) and [o.name for o in sco.get_outputs()] == SCORE_OUTPUTS
    worst = 0.0
    for case in golden["cases"]:
        encoded = enc.run(None, golden_feed(enc, case))
        emb = encoded[0]
        (scores,) = sco.run(None, score_feed(encoded, np.asarray(case["inputs"]["candidates"], np.int64)))
        for what, got, want in (("embedding", emb[0], case["expected"]["embedding"]),
                                ("scores", scores[0], case["expected"]["scores"])):
            err = float(np.max(np.abs(got - np.asarray(want, np.float32)))) if len(want) else 0.0
            worst = max(worst, err)
            if not err <= tolerance:
                raise RuntimeError(f"ONNX parity failed (encode{suffix}/score{suffix}): case {case['name']!r} {what}: "
                                   f"max abs err {err:.3g} > {tolerance:g}")
    return worst


def _architecture(cfg) -> dict[str, Any]:
    """Informational (the runtime only runs the graphs; it reads the sizes and last_layer_rows for its FLOP count:
    how many tokens the encode graph's last layer computes). Non-default switches are added as extra keys, which
    readers ignore."""
    arch: dict[str, Any] = {"backbone": "hstu" if cfg.block == "hstu" else "llama", "d_model": cfg.d_model,
                            "layers": cfg.layers, "heads": cfg.heads, "head_dim": cfg.head_dim,
                            "mlp_hidden": cfg.mlp_hidden, "time_rope_fraction": cfg.time_rope_fraction,
                            "last_layer_rows": cfg.encode_read_rows}
    if cfg.time_signal != "rope":
        arch["time_signal"] = cfg.time_signal
    elif cfg.time_scale != "log":
        arch["time_scale"] = cfg.time_scale
    elif cfg.time_rope_slowest:
        arch["time_rope_slowest"] = cfg.time_rope_slowest
    if not cfg.item_text:
        arch["item_text"] = False
    if not cfg.action_input:
        arch["action_input"] = False
    if cfg.absolute_time_buckets:  # the encode graph's request_time input: what a request's time reads as
        arch["absolute_time"] = {"origin": cfg.absolute_time_origin, "width_seconds": cfg.absolute_time_width,
                                 "buckets": cfg.absolute_time_buckets}
    defaults = ModelConfig(num_items=1, vocab_size=1, num_actions=1)
    for key in ("readout", "tied_embeddings", "input_scale", "recency_positions", "tie_positions", "query_time", "norm", "mlp"):
        if getattr(cfg, key) != getattr(defaults, key):
            arch[key] = getattr(cfg, key)
    return arch


def export_bundle(model: GenRecModel, out_dir: str | Path, *, items: Sequence[Item], vocab: Vocab,
                  actions: Sequence[str], max_history: int, max_query_tokens: int, model_id: str,
                  model_version: str, training: dict[str, Any], golden_requests: Sequence[dict[str, Any]],
                  max_candidates: int = 1024, ranking: dict[str, Any] | None = None,
                  new_history_items: bool = False, co_occurrence: tuple[CoOccurrence, float] | None = None) -> Path:
    """ranking: the served order's defaults, e.g. {"retrieval_weight": 10.0} (absent: the ranking head
    alone; docs/bundle-format.md). new_history_items: the encode graph reads a history event of an item added after
    training by the item's text (history_item_tokens). Only for a model trained to read items by their text alone
    (--item-id-dropout): one that was not reads them unreliably, on ML-100K worse than the history without them
    (BENCHMARKS.md, "ML-100K, session 38"), so its bundle leaves them out.
    co_occurrence: the served order's co-occurrence table and its weight (cooccurrence.py), written as
    co_occurrence.bin, co_occurrence.span and ranking.co_occurrence_weight; None: the bundle has none of them."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    cfg = model.cfg
    index = {it.item_id: i + 1 for i, it in enumerate(items)}

    write_jsonl(out / "items.jsonl", ({"item_id": it.item_id, "index": index[it.item_id], "title": it.title,
                                       "categories": list(it.categories)} for it in items))
    with torch.no_grad():
        item_emb = model.item_embeddings(torch.arange(1, len(items) + 1)).numpy().astype("<f4")  # [I, E]
    (out / "item_embeddings.f32").write_bytes(np.ascontiguousarray(item_emb).tobytes())
    vocab.save(out / "vocab.txt")
    if new_history_items and not cfg.item_text:
        raise ValueError("new_history_items needs a model with item text: an id-only model has nothing to read a new item by")
    export_onnx(model, out, new_history_items=new_history_items)
    export_onnx(half_blocks(model), out, FP16, new_history_items)

    timed = reads_request_time(model)
    encoder = RequestEncoder(index, actions, vocab, max_history, max_query_tokens, cfg.max_item_tokens if new_history_items else 0,
                             timed, co_occurrence[0].span if co_occurrence is not None else 0)
    ranking = {"retrieval_weight": 0.0, **(ranking or {})}
    if co_occurrence is not None:
        co_occurrence[0].write(out / CO_OCCURRENCE_FILE)
        ranking["co_occurrence_weight"] = co_occurrence[1]
    golden = build_golden(model, encoder, items, item_emb, golden_requests, ranking["retrieval_weight"], co_occurrence)
    rotary = RotarySpec.of_model(model)
    graphs = {f"encode{suffix}": {"file": f"encode{suffix}.onnx",
                                  "inputs": encode_inputs(new_history_items, timed, rotary.input_names(), reads_ages(model)),
                                  "outputs": encode_outputs(cfg.layers)}
              for suffix in ("", FP16)}
    graphs |= {f"score{suffix}": {"file": f"score{suffix}.onnx", "inputs": score_inputs(cfg.layers), "outputs": SCORE_OUTPUTS}
               for suffix in ("", FP16)}
    if cfg.item_text:  # an id-only model has nothing to embed a new item with
        export_new_item_graphs(model, out)
        golden["new_items"] = build_new_item_golden(model, encoder, vocab, default_new_items(items, cfg.max_item_tokens),
                                                    golden_requests)
        graphs[ITEM_ENCODER] = {"file": f"{ITEM_ENCODER}.onnx", "inputs": ITEM_ENCODER_INPUTS, "outputs": ITEM_ENCODER_OUTPUTS}
        graphs[SCORE_ROWS] = {"file": f"{SCORE_ROWS}.onnx", "inputs": score_rows_inputs(cfg.layers), "outputs": SCORE_OUTPUTS}
    (out / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    parity = check_onnx_parity(out, golden)
    parity_fp16 = check_onnx_parity(out, golden, FP16_TOLERANCE, FP16)
    if cfg.item_text:
        parity = max(parity, check_new_item_parity(out, golden))

    manifest = {
        "format_version": FORMAT_VERSION,
        "model_id": model_id, "model_version": model_version,
        "architecture": _architecture(cfg),
        "rotary": rotary.manifest(),
        "embedding_dim": cfg.embedding_dim,
        "similarity": cfg.similarity,
        "max_history": max_history, "max_query_tokens": max_query_tokens, "max_candidates": max_candidates,
        "actions": list(actions),
        "tokenizer": {"type": "lowercase_alnum", "vocab": "vocab.txt", "pad_id": PAD_ID, "unk_id": UNK_ID},
        "items": {"table": "items.jsonl", "embeddings": "item_embeddings.f32", "count": len(items),
                  "max_item_tokens": cfg.max_item_tokens},
        "graphs": graphs,
        "golden": "golden.json",
        "ranking": ranking,
        **({"co_occurrence": {"file": CO_OCCURRENCE_FILE, "pairs": len(co_occurrence[0].neighbours),
                              "span": co_occurrence[0].span}}
           if co_occurrence is not None else {}),
        "training": finite_or_null({**training, "onnx_parity_max_abs_err": parity, "onnx_fp16_max_abs_err": parity_fp16}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return out
