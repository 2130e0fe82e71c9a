"""Train a genrec model and export a bundle.

    python -m genrec_trainer.train --dataset synthetic --out DIR [--epochs N --seed S --model-id ID]
    python -m genrec_trainer.train --events events.jsonl --items items.jsonl --out DIR
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Sequence

import numpy as np
import torch

from . import synthetic
from .data import (build_vocab, data_fingerprint, group_by_user, item_index, item_token_table, leave_one_out,
                   make_batch)
from .evaluate import evaluate
from .export import default_golden_requests, export_bundle
from .losses import ranking_bce_loss, sampled_softmax_loss
from .model import GenRecModel, ModelConfig
from .schema import Event, Item, load_events, load_items


def action_list(events: Sequence[Event]) -> list[str]:
    # click/purchase style logs: keep a canonical, data-order-independent list.
    return sorted({e.action for e in events})


def epoch_batches(examples: np.ndarray, count: int, batch_size: int, max_history: int,
                  rng: np.random.Generator, pool: int = 8) -> list[list[tuple[int, int]]]:
    """A random sample of `count` examples cut into batches. Within pools of `pool` batches the
    examples are sorted by history length, so a batch is padded to ~its own length instead of
    max_history (about 2x faster on CPU); the batch order is shuffled again."""
    chosen = examples[rng.permutation(len(examples))[:count]]
    batches = []
    for start in range(0, len(chosen), pool * batch_size):
        block = chosen[start:start + pool * batch_size]
        block = block[np.argsort(np.minimum(block[:, 1], max_history), kind="stable")]
        batches += [[(int(u), int(t)) for u, t in block[i:i + batch_size]] for i in range(0, len(block), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train(items: Sequence[Item], events: Sequence[Event], *, out: str, data_desc: str, seed: int = 7,
          epochs: int = 8, model_id: str = "synthetic", model_version: str = "1", max_history: int = 50,
          max_query_tokens: int = 8, max_item_tokens: int = 16, d_model: int = 32, layers: int = 2, heads: int = 2,
          batch_size: int = 256, examples_per_epoch: int = 10_000, negatives: int = 512, rank_negatives: int = 7,
          lr: float = 3e-3, temperature: float = 0.05, threads: int = 1, log=print) -> dict:
    torch.manual_seed(seed)
    # One thread = bit-reproducible runs (measured: 2 intra-op threads drift ~1e-7 run to run).
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    t_start = time.time()

    actions = action_list(events)
    index = item_index(items)
    vocab = build_vocab(items, events)
    seqs = group_by_user(events, index, actions, vocab, max_query_tokens)
    split = leave_one_out(seqs)
    num_items = len(items)
    log(f"data: {len(items)} items, {len(events)} events, {len(seqs)} users, vocab {len(vocab)}, "
        f"actions {actions}, {len(split.train)} training targets")

    cfg = ModelConfig(num_items=num_items, vocab_size=len(vocab), num_actions=len(actions),
                      max_item_tokens=max_item_tokens, d_model=d_model, layers=layers, heads=heads,
                      embedding_dim=d_model, mlp_hidden=2 * d_model)
    model = GenRecModel(cfg, torch.from_numpy(item_token_table(items, vocab, max_item_tokens)))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    train_examples = np.asarray(split.train)

    metrics: dict = {}
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.time()
        sums = np.zeros(2)
        steps = 0
        for chunk in epoch_batches(train_examples, examples_per_epoch, batch_size, max_history, rng):
            batch = make_batch(seqs, chunk, max_history)
            target = batch["target"]
            table = model.item_table()  # every item's repr once per step, gathered below
            user, ck, cv, cm = model.encode(batch["history_items"], batch["history_actions"],
                                            batch["history_age_seconds"], batch["history_query_tokens"],
                                            batch["query_tokens"], item_table=table)
            # Retrieval: in-batch + uniform negatives.
            neg = torch.from_numpy(rng.integers(1, num_items + 1, negatives))
            l_ret = sampled_softmax_loss(user, target, model.item_embeddings(target, table), neg,
                                         model.item_embeddings(neg, table), temperature)
            # Ranking: the target with its label (unlabelled = observed = positive) + random negatives at 0.
            rneg = torch.from_numpy(rng.integers(1, num_items + 1, (len(target), rank_negatives)))
            cands = torch.cat([target[:, None], rneg], dim=1)
            labels = torch.zeros_like(cands)
            labels[:, 0] = torch.where(batch["label"] < 0, 1, batch["label"])
            weight = torch.ones_like(cands)
            weight[:, 1:] = (rneg != target[:, None]).long()  # a sampled "negative" equal to the target is no negative
            l_rank = ranking_bce_loss(model.score(ck, cv, cm, cands, item_table=table), labels, weight)
            loss = l_ret + l_rank
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += [l_ret.item(), l_rank.item()]
            steps += 1
        val = evaluate(model, seqs, split.valid, max_history)
        log(f"epoch {epoch}: retrieval {sums[0] / steps:.4f} ranking {sums[1] / steps:.4f} | valid "
            f"hr@10 {val['hr@10']:.4f} ndcg@10 {val['ndcg@10']:.4f} mrr {val['mrr']:.4f} auc {val['auc']:.4f} "
            f"({time.time() - t0:.1f}s)")
    test = evaluate(model, seqs, split.test, max_history)
    train_seconds = time.time() - t_start
    metrics = {k: round(v, 4) for k, v in test.items() if k != "users"}
    log(f"test ({int(test['users'])} users): " + json.dumps(metrics) + f" | trained in {train_seconds:.1f}s")

    golden = default_golden_requests(items, events, actions, max_history, seed=seed)
    export_bundle(model, out, items=items, vocab=vocab, actions=actions, max_history=max_history,
                  max_query_tokens=max_query_tokens, model_id=model_id, model_version=model_version,
                  golden_requests=golden,
                  training={"data": data_desc, "data_fingerprint": data_fingerprint(items, events), "seed": seed,
                            "epochs": epochs, "metrics": metrics})  # no timings: keep the bundle byte-reproducible
    log(f"bundle written to {out}")
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["synthetic"], help="built-in dataset")
    p.add_argument("--events", help="events JSON lines (user_id, item_id, action, timestamp, query?, label?)")
    p.add_argument("--items", help="items JSON lines (item_id, title, categories)")
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model-id", default=None)
    p.add_argument("--model-version", default="1")
    p.add_argument("--users", type=int, default=2000, help="synthetic: number of users")
    p.add_argument("--num-items", type=int, default=500, help="synthetic: number of items")
    p.add_argument("--max-history", type=int, default=50)
    p.add_argument("--examples-per-epoch", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1, help=">1 is faster but not bit-reproducible")
    args = p.parse_args(argv)

    if args.dataset == "synthetic":
        items, events = synthetic.generate(seed=args.seed, num_users=args.users, num_items=args.num_items)
        desc = f"synthetic(seed={args.seed}, users={args.users}, items={args.num_items})"
    elif args.events and args.items:
        items, events = load_items(args.items), load_events(args.events)
        desc = f"events={args.events}, items={args.items}"
    else:
        p.error("give --dataset synthetic, or both --events and --items")
    train(items, events, out=args.out, data_desc=desc, seed=args.seed, epochs=args.epochs,
          model_id=args.model_id or (args.dataset or "custom"), model_version=args.model_version,
          max_history=args.max_history, examples_per_epoch=args.examples_per_epoch,
          threads=args.threads)


if __name__ == "__main__":
    main()
