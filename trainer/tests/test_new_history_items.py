"""History events of items added after training: read from the item's text by a model trained with --item-id-dropout,
else left out."""
import json

import numpy as np
import torch

from conftest import ACTIONS, MAX_HISTORY, MAX_Q, tensors
from genrec_trainer.data import item_tokens
from genrec_trainer.encoding import RequestEncoder
from genrec_trainer.encoding import SLOT_INPUTS
from genrec_trainer.export import ENCODE_INPUTS, default_golden_requests, export_bundle
from genrec_trainer.rotary_rows import RotarySpec


def _encoder(tiny, max_item_tokens: int) -> RequestEncoder:
    return RequestEncoder(tiny.index, ACTIONS, tiny.vocab, MAX_HISTORY, MAX_Q, max_item_tokens)


def _with_new_item(tiny, at: int, text: dict | None) -> list[dict]:
    hist = tiny.history(5, with_queries=False)
    event = {"item": "added-later", "action": ACTIONS[0], "time": hist[at]["time"]}
    if text is not None:
        event["item_text"] = text
    return hist[:at + 1] + [event] + hist[at + 1:]


def test_an_item_added_after_training_is_kept_with_its_text_at_index_zero(tiny):
    item = tiny.items[3]
    hist = _with_new_item(tiny, 2, {"title": item.title, "categories": list(item.categories)})
    enc = _encoder(tiny, 8).encode(hist, None, hist[-1]["time"] + 60)
    assert enc.dropped_history_items == 0 and enc.kept_item_ids[3] == "added-later"
    assert enc.history_items[0, 3] == 0 and (np.delete(enc.history_items[0], 3) > 0).all()
    assert enc.history_item_tokens.shape == (1, 6, 8)
    assert enc.history_item_tokens[0, 3].tolist() == item_tokens(tiny.vocab, item.title, item.categories, 8)
    assert not np.delete(enc.history_item_tokens[0], 3, axis=0).any()


def test_events_the_model_cannot_read_are_left_out(tiny):
    no_text = _with_new_item(tiny, 2, {"title": " ,", "categories": []})  # no token: nothing to read it by
    enc = _encoder(tiny, 8).encode(no_text, None, no_text[-1]["time"])
    assert enc.dropped_history_items == 1 and "added-later" not in enc.kept_item_ids
    assert enc.history_item_tokens.shape == (1, 5, 1) and not enc.history_item_tokens.any()  # narrow: no new item
    with_text = _with_new_item(tiny, 2, {"title": tiny.items[3].title})
    id_only = _encoder(tiny, 0).encode(with_text, None, with_text[-1]["time"])  # a model without item text
    assert id_only.dropped_history_items == 1 and id_only.history_item_tokens is None
    assert "history_item_tokens" not in id_only.graph_inputs()


def test_a_new_item_in_the_history_reads_as_its_item_with_the_id_row_left_out(tiny):
    """What --item-id-dropout trains: the item's text alone where its id row would be."""
    m = tiny.model
    hist = tiny.history(6, with_queries=False)
    as_trained = _encoder(tiny, 8).encode(hist, None, hist[-1]["time"] + 60)
    slot = 2
    new = tiny.items[as_trained.history_items[0, slot] - 1]
    renamed = [dict(e, item="added-later", item_text={"title": new.title, "categories": list(new.categories)})
               if j == slot else e for j, e in enumerate(hist)]
    as_new = _encoder(tiny, 8).encode(renamed, None, hist[-1]["time"] + 60)
    with torch.no_grad():
        table = m.item_table()
        text_row = table.clone()
        text_row[as_trained.history_items[0, slot]] = m.text_table()[as_trained.history_items[0, slot]]
        want = m.encode(*tensors(as_trained)[:5], item_table=text_row)
        got = m.encode(**{k: torch.from_numpy(v) for k, v in as_new.graph_inputs().items()}, item_table=table)
        trained = m.encode(*tensors(as_trained)[:5], item_table=table)
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(got[0], trained[0], atol=1e-4), "the id row is missing, so the embedding moves"


def test_padding_item_text_changes_nothing(tiny):
    hist = tiny.history(6)
    enc = _encoder(tiny, 8).encode(hist, "guitar", hist[-1]["time"] + 60)
    inputs = {k: torch.from_numpy(v) for k, v in enc.graph_inputs().items()}
    wide = dict(inputs, history_item_tokens=torch.zeros(1, inputs["history_items"].shape[1], 8, dtype=torch.long))
    with torch.no_grad():
        for a, b, c in zip(tiny.model.encode(**inputs), tiny.model.encode(**wide), tiny.model.encode(*tensors(enc)[:5])):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
            torch.testing.assert_close(a, c, atol=0, rtol=0)


def test_a_model_not_trained_to_read_items_by_their_text_alone_leaves_them_out(tiny, tmp_path):
    """Without --item-id-dropout (export_bundle's new_history_items off) the encode graph has no history_item_tokens: such
    a model reads a new item's text unreliably (on ML-100K worse than the history without it), so its bundle leaves new
    items out."""
    requests = [r for r in default_golden_requests(tiny.items, tiny.events, ACTIONS, MAX_HISTORY) if r["name"] == "new_items_in_history"]
    export_bundle(tiny.model, tmp_path, items=tiny.items, vocab=tiny.vocab, actions=ACTIONS, max_history=MAX_HISTORY,
                  max_query_tokens=MAX_Q, model_id="tiny", model_version="0", golden_requests=requests,
                  training={"data": "tiny", "data_fingerprint": "sha256:x", "seed": 0, "epochs": 0, "metrics": {}})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["graphs"]["encode"]["inputs"] == [*(n for n in ENCODE_INPUTS if n != "history_age_seconds"),
                                                      *RotarySpec.of_model(tiny.model).input_names(), *SLOT_INPUTS]
    (case,) = json.loads((tmp_path / "golden.json").read_text())["cases"]
    assert case["expected"]["dropped_history_items"] == 3 and "history_item_tokens" not in case["inputs"]
