"""Items added after training, as a live node serves them: the inputs of scripts/evaluate-new-items.sh.

A seeded share of a benchmark dataset's catalogue is renamed `new:<id>`. The model was trained on the old ids, so
under the new ones it knows these items by their text alone, as it knows an item added to the catalogue after
training. Writes, into OUT_DIR:
- catalogue.jsonl: every item, the share renamed (`genrec-tools index-items --items` input: the renamed items get
  their text's vector, the others their trained one);
- events-new.jsonl: every event of the users whose held-out event (the last, in timestamp order with equal timestamps
  in file order, as `evaluate` and the trainer take it; users with 3 or more events) is an item of the share, with the
  share renamed: that item is new to the model, and so is any item of the share in the history (read by its text from
  the index by a bundle that reads new history items, else ignored; the query excludes it either way);
- events-trained.jsonl: the same users' events as they are, every item trained: the same requests' baseline;
- events-history-new.jsonl, events-history-trained.jsonl: the same for the users whose held-out item is trained but
  whose history holds an item of the share: items added after training in a history, their held-out item trained.

    .venv/bin/python scripts/new_items_split.py EVENTS.jsonl ITEMS.jsonl FRACTION SEED OUT_DIR
(EVENTS/ITEMS from scripts/export_dataset.py)
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NEW_PREFIX = "new:"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def held_out_items(events: list[dict]) -> dict[str, str]:
    """user -> the item of their last event (stable timestamp order), for users with 3 or more events."""
    by_user: dict[str, list[dict]] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    return {u: sorted(evs, key=lambda e: e["timestamp"])[-1]["item_id"] for u, evs in by_user.items() if len(evs) >= 3}


def split(events: list[dict], items: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict], list[dict], set[str]]:
    new = new_share(items, fraction, seed)
    catalogue = [{**it, "item_id": renamed(it["item_id"], new)} for it in items]
    users = {u for u, item in held_out_items(events).items() if item in new}
    trained = [e for e in events if e["user_id"] in users]
    return catalogue, [{**e, "item_id": renamed(e["item_id"], new)} for e in trained], trained, new


def history_split(events: list[dict], new: set[str]) -> tuple[list[dict], list[dict]]:
    """The users whose held-out item is trained and whose earlier events hold a new item: their events renamed, as they are."""
    held_out = held_out_items(events)
    trained_held_out = {u for u, item in held_out.items() if item not in new}  # users with 3+ events only, as evaluate
    users = {e["user_id"] for e in events if e["item_id"] in new and e["user_id"] in trained_held_out}
    trained = [e for e in events if e["user_id"] in users]
    return [{**e, "item_id": renamed(e["item_id"], new)} for e in trained], trained


def new_share(items: list[dict], fraction: float, seed: int) -> set[str]:
    ids = sorted(it["item_id"] for it in items)
    return set(random.Random(seed).sample(ids, round(fraction * len(ids))))


def renamed(item_id: str, new: set[str]) -> str:
    return NEW_PREFIX + item_id if item_id in new else item_id


def main(argv: list[str]) -> None:
    if len(argv) != 5:
        sys.exit(__doc__)
    events_file, items_file, fraction, seed, out = Path(argv[0]), Path(argv[1]), float(argv[2]), int(argv[3]), Path(argv[4])
    catalogue, as_new, trained, new = split(read_jsonl(events_file), read_jsonl(items_file), fraction, seed)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "catalogue.jsonl", catalogue)
    write_jsonl(out / "events-new.jsonl", as_new)
    write_jsonl(out / "events-trained.jsonl", trained)
    history_new, history_trained = history_split(read_jsonl(events_file), new)
    write_jsonl(out / "events-history-new.jsonl", history_new)
    write_jsonl(out / "events-history-trained.jsonl", history_trained)
    users = len({e["user_id"] for e in trained})
    history_users = len({e["user_id"] for e in history_trained})
    print(f"{len(new)} of {len(catalogue)} items renamed {NEW_PREFIX}<id>; {users} users hold one out, {history_users} others have "
          f"one in their history -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
