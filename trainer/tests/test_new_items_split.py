"""scripts/new_items_split.py: which items become new, whose requests are evaluated, and that both runs send the same ones."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "new_items_split.py"
_spec = importlib.util.spec_from_file_location("new_items_split", SCRIPT)
new_items_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(new_items_split)


def _event(user, item, t):
    return {"user_id": user, "item_id": item, "action": "rate", "timestamp": t}


def test_the_share_is_renamed_everywhere_and_only_users_holding_one_out_are_kept():
    items = [{"item_id": f"i{k}", "title": f"t{k}", "categories": ["c"]} for k in range(10)]
    events = [_event("a", "i1", 1), _event("a", "i2", 2), _event("a", "i3", 3),   # last: i3
              _event("b", "i3", 5), _event("b", "i4", 5), _event("b", "i5", 4),   # tie at 5: file order, last i4
              _event("c", "i1", 1), _event("c", "i2", 2)]                          # two events: no test request
    catalogue, as_new, trained, new = new_items_split.split(events, items, 0.3, seed=4)
    assert len(new) == 3
    assert sorted(it["item_id"] for it in catalogue) == sorted(("new:" + i) if i in new else i for i in (it["item_id"] for it in items))
    assert [it["title"] for it in catalogue] == [it["title"] for it in items]
    held_out = {"a": "i3", "b": "i4"}
    kept = {u for u, item in held_out.items() if item in new}
    assert new == {"i1", "i3", "i4"} and kept == {"a", "b"}  # seed 4: both held-out items new, and a history item too
    assert {e["user_id"] for e in trained} == kept and [e for e in events if e["user_id"] in kept] == trained
    assert [e["item_id"] for e in as_new] == [("new:" + e["item_id"]) if e["item_id"] in new else e["item_id"] for e in trained]
    assert [{**e, "item_id": None} for e in as_new] == [{**e, "item_id": None} for e in trained]  # nothing else changes


def test_the_share_depends_on_the_seed_only():
    items = [{"item_id": f"i{k}", "title": "", "categories": []} for k in range(50)]
    a = new_items_split.split([], items, 0.2, seed=1)[3]
    assert a == new_items_split.split([], list(reversed(items)), 0.2, seed=1)[3] and len(a) == 10
    assert a != new_items_split.split([], items, 0.2, seed=2)[3]


def test_history_users_hold_a_trained_item_out_and_a_new_one_in_their_history():
    events = [_event("a", "i1", 1), _event("a", "i2", 2), _event("a", "i3", 3),   # held out i3 (trained), i1 new: kept
              _event("b", "i2", 1), _event("b", "i5", 2), _event("b", "i1", 3),   # held out i1 (new): not a history user
              _event("c", "i2", 1), _event("c", "i5", 2), _event("c", "i6", 3),   # nothing new: not kept
              _event("d", "i1", 1), _event("d", "i2", 2)]                          # two events: no test request
    as_new, trained = new_items_split.history_split(events, {"i1", "i4"})
    assert {e["user_id"] for e in trained} == {"a"} and trained == events[:3]
    assert [e["item_id"] for e in as_new] == ["new:i1", "i2", "i3"]
