"""The one event schema every dataset is adapted into (logs -> training -> cluster).

events: user_id, item_id, action, timestamp (Unix seconds or ISO-8601), optional query, optional label
items:  item_id, title, categories
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator


@dataclass(frozen=True)
class Event:
    user_id: str
    item_id: str
    action: str
    timestamp: int  # Unix seconds (int: float32 would lose minutes at 1.7e9)
    query: str | None = None
    label: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"user_id": self.user_id, "item_id": self.item_id,
                             "action": self.action, "timestamp": self.timestamp}
        if self.query is not None:
            d["query"] = self.query
        if self.label is not None:
            d["label"] = self.label
        return d


@dataclass(frozen=True)
class Item:
    item_id: str
    title: str
    categories: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "title": self.title, "categories": list(self.categories)}


def parse_timestamp(value: Any) -> int:
    """Int Unix seconds, a string of digits, or an ISO-8601 string -> int Unix seconds.

    Naive ISO datetimes are taken as UTC (logs rarely carry a zone; UTC keeps it reproducible).
    Fractional seconds are floored.
    """
    if isinstance(value, bool):  # bool is an int subclass; a bool timestamp is a data bug
        raise ValueError(f"malformed timestamp {value!r}: expected Unix seconds or ISO-8601")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"malformed timestamp {value!r}: not finite")
        return math.floor(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(
                f"malformed timestamp {value!r}: expected Unix seconds or ISO-8601 "
                f"(e.g. 2023-11-14T22:13:20Z)") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return math.floor(dt.timestamp())
    raise ValueError(f"malformed timestamp {value!r}: unsupported type {type(value).__name__}")


def event_from_dict(d: dict[str, Any]) -> Event:
    for key in ("user_id", "item_id", "action", "timestamp"):
        if key not in d or d[key] is None:
            raise ValueError(f"event is missing required field {key!r}: {d}")
    label = d.get("label")
    return Event(user_id=str(d["user_id"]), item_id=str(d["item_id"]), action=str(d["action"]),
                 timestamp=parse_timestamp(d["timestamp"]),
                 query=(str(d["query"]) if d.get("query") not in (None, "") else None),
                 label=(int(label) if label is not None else None))


def item_from_dict(d: dict[str, Any]) -> Item:
    if "item_id" not in d:
        raise ValueError(f"item is missing required field 'item_id': {d}")
    cats = d.get("categories") or []
    if isinstance(cats, str):
        cats = [cats]
    return Item(item_id=str(d["item_id"]), title=str(d.get("title") or ""),
                categories=tuple(str(c) for c in cats))


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{line_no}: invalid JSON: {e}") from None


def load_events(path: str | Path) -> list[Event]:
    return [event_from_dict(d) for d in read_jsonl(path)]


def load_items(path: str | Path) -> list[Item]:
    return [item_from_dict(d) for d in read_jsonl(path)]


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def finite_or_null(value: Any) -> Any:
    """value with every NaN or infinite float made None (JSON null), in nested dicts and lists: a metric that is
    undefined on the training log (AUC without a negative label, e.g. a log of purchases only) is NaN in Python, and
    NaN is not JSON, so a strict reader (the Java runtime's, jq) would refuse the whole file."""
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
