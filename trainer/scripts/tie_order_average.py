"""Does a model read a request better when the order of its latest second is averaged out? A probe, no training.

Why: on MovieLens 44 % of the test events were logged in the same second as the event before (a page of ratings
submitted at once), and the log's order inside that second is the file's, no signal. Yet the quality recipe reads the
user at the LAST history event's state (`--readout last_event`), whose output stays close to that event's item, so
which of the second's items the file happens to put last changes the request's embedding. Here each request is
encoded once per rotation of its latest second (each of the second's last P items moved to the end in turn, the
others kept in order) and the user embeddings and ranking logits are averaged over the distinct rotations. The
whole evaluation of a finished run (validation, the served weights chosen on it, test) is repeated that way, by
running train.py on the run's checkpoint with `evaluate._encoded_batches` replaced.

  .venv/bin/python scripts/tie_order_average.py --rotations 4 -- <the run's train.py flags, its --checkpoint and a new --metrics-out>
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genrec_trainer import evaluate, train  # noqa: E402
from genrec_trainer.data import history_items_of, make_batch  # noqa: E402

ROTATED = ("history_items", "history_actions", "history_age_seconds", "history_query_tokens", "history_labels")


def latest_second_rotations(batch: dict[str, torch.Tensor], rotations: int) -> tuple[list[dict], np.ndarray]:
    """The batch once per rotation v < rotations: in each row the history's trailing run of equal ages (its latest
    second; left padding puts it at the last columns) with its (v+1)-th last event moved to the end. Rows whose
    second holds fewer than v + 1 events keep the original order. Returns the batches and, per row, how many of them
    are distinct."""
    ages = batch["history_age_seconds"].numpy()
    real = batch["history_items"].numpy() > 0
    n = ages.shape[1]
    group = np.ones(len(ages), np.int64)
    for row in range(len(ages)):
        if not real[row, -1]:
            continue
        c = n - 1
        while c > 0 and real[row, c - 1] and ages[row, c - 1] == ages[row, -1]:
            c -= 1
        group[row] = n - c
    variants = []
    for v in range(rotations):
        order = np.tile(np.arange(n), (len(ages), 1))
        for row in np.flatnonzero(group > v):
            moved = n - 1 - v
            order[row, moved:] = np.r_[np.arange(moved + 1, n), moved]
        index = torch.from_numpy(order)
        variant = dict(batch)
        for key in ROTATED:
            t = batch[key]
            variant[key] = t.gather(1, index if t.dim() == 2 else index[:, :, None].expand_as(t))
        variants.append(variant)
    return variants, np.minimum(group, rotations)


def averaged_encoded_batches(rotations: int):
    def encoded_batches(model, seqs, examples, max_history, batch_size):
        model.eval()
        examples = evaluate.by_history_length(examples, max_history)
        dev = model.item_tokens.device
        table, item_emb = evaluate.catalogue(model)
        for start in range(0, len(examples), batch_size):
            chunk = examples[start:start + batch_size]
            batch = make_batch(seqs, chunk, max_history)
            variants, distinct = latest_second_rotations(batch, rotations)
            weight = torch.stack([torch.as_tensor((distinct > v) / distinct, dtype=torch.float32)
                                  for v in range(rotations)])           # [V, B]: 1 / #distinct on the distinct ones
            users, caches = [], []
            for variant in variants:
                user, ck, cv, cm = evaluate.encode_batch(model, variant, table)
                users.append(user)
                caches.append((ck, cv, cm))
            user = (torch.stack(users) * weight[:, :, None].to(dev)).sum(0)

            def rank_logits(candidates: np.ndarray, rows=None, caches=caches, weight=weight) -> np.ndarray:
                c = torch.as_tensor(candidates).to(dev)
                logits = torch.stack([model.score(ck, cv, cm, c, item_table=table if rows is None else rows)
                                      for ck, cv, cm in caches])          # [V, B, M]
                return (logits * weight[:, :, None].to(dev)).sum(0).cpu().numpy()
            user = user.cpu().numpy()
            yield batch, user, user @ item_emb.T, history_items_of(seqs, chunk), rank_logits
    return encoded_batches


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rotations", type=int, default=4, help="how many of the latest second's last events take the "
                                                            "last place in turn (1: the log's order, as evaluate)")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then train.py's flags")
    args = p.parse_args()
    evaluate._encoded_batches = averaged_encoded_batches(args.rotations)
    train.main([a for a in args.train_args if a != "--"])


if __name__ == "__main__":
    main()
