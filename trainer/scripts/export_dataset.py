"""Write a benchmark dataset in the one event schema: OUT_DIR/events.jsonl and OUT_DIR/items.jsonl,
the files a user brings (the trainer's generic loader reads them back) and the input of
`genrec-tools index-events` and `genrec-tools evaluate`. Events keep the dataset's file order, so
that equal timestamps stay in the order the trainer's stable sort keeps them.

    .venv/bin/python scripts/export_dataset.py ml-100k ../../shared/data/ml-100k /tmp/ml-100k-events
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genrec_trainer.datasets import load_dataset  # noqa: E402
from genrec_trainer.schema import write_jsonl  # noqa: E402


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit(__doc__)
    name, data_dir, out = argv
    data = load_dataset(name, data_dir)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out) / "events.jsonl", (e.to_dict() for e in data.events))
    write_jsonl(Path(out) / "items.jsonl", (it.to_dict() for it in data.items))
    print(f"{len(data.events)} events, {len(data.items)} items -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
