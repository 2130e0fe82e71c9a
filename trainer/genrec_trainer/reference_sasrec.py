"""A reference SASRec + sampled softmax, written the way the published Beauty tables train it, in
our harness (same loaders, same split, same full-catalogue ranking with seen items excluded).

Why it exists: our `sasrec` preset is our own model with the time signal and item text switched
off, and on Beauty both stay ~30 % below the published SASRec+SS figure. This module is the
textbook recipe (eSASRec authors' configuration for S3-Rec Beauty: SASRecModel, sampled softmax,
256 negatives, dropout 0.2, sequences of 50), so the harness can tell "our model/recipe loses
something" from "the harness or data differ from the paper's". It is a baseline, never exported.

Differences from our model, each a suspect for the gap:
- learned absolute positions counted from the most recent item (SASRec's right-aligned
  positions), not rotary;
- one item embedding table used for the input and as the output softmax weights, dot-product
  logits (no L2 normalization, no temperature), LayerNorm blocks;
- the objective: every position of each user's training sequence predicts its next item, one
  pass over all users per epoch, and inference reads the last event's state (no RET token).

    python -m genrec_trainer.reference_sasrec --dataset beauty --data-dir ../shared/data/amazon-beauty-p5 \
        --max-history 50 --epochs 200 --patience 20 --metrics-out build/bench/beauty-refsasrec-s1.json
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import RunCheckpoint, epoch_state, restore_epoch_state
from .data import build_vocab, data_fingerprint, group_by_user, history_items_of, item_index, make_batch
from .datasets import DATASETS, load_dataset
from .evaluate import PROTOCOL_TEXT, make_split, rank_metrics, target_ranks
from .losses import CatalogueCrossEntropy
from .stopping import StopRequest
from .train import action_list, epoch_batches, user_examples


class SASRecBlock(nn.Module):
    """Pre-LayerNorm block: causal multi-head softmax attention, then a GELU feed-forward."""

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_model, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, allowed: Tensor) -> Tensor:
        # x [B, N, D]; allowed [B, 1, N, N] bool (query i may read key j)
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                              dropout_p=self.dropout.p if self.training else 0.0)
        x = x + self.dropout(self.out(attn.transpose(1, 2).reshape(b, n, d)))
        return x + self.dropout(self.ff(self.norm2(x)))


class ReferenceSASRec(nn.Module):
    def __init__(self, num_items: int, d_model: int = 64, layers: int = 2, heads: int = 1, max_len: int = 50,
                 dropout: float = 0.2, temperature: float | None = None):
        super().__init__()
        self.num_items, self.d_model = num_items, d_model
        self.temperature = temperature                                     # None: dot product; else cosine / T
        self.items = nn.Embedding(num_items + 1, d_model, padding_idx=0)   # input AND output embeddings
        self.positions = nn.Embedding(max_len, d_model)                    # 0 = the most recent item
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(SASRecBlock(d_model, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        nn.init.normal_(self.items.weight, std=d_model ** -0.5)

    def forward(self, seq: Tensor) -> Tensor:
        """seq [B, N] left-padded item indices (0 = padding, N <= max_len) -> states [B, N, D];
        state i has read items 0..i only."""
        n = seq.shape[1]
        real = seq > 0                                                      # [B, N]
        recency = torch.arange(n - 1, -1, -1, device=seq.device)             # right-aligned positions
        x = self.items(seq) * math.sqrt(self.d_model) + self.positions(recency)
        x = self.dropout(x) * real[..., None]
        causal = torch.ones(n, n, dtype=torch.bool, device=seq.device).tril()
        # real keys at or before the query; a padded query reads itself only (no empty softmax row)
        allowed = (causal & real[:, None, :]) | torch.eye(n, dtype=torch.bool, device=seq.device)
        for block in self.blocks:
            x = block(x, allowed[:, None]) * real[..., None]
        return self.norm(x)

    def item_weights(self) -> Tensor:
        return self.items.weight                                            # [I + 1, D]

    def logits(self, user: Tensor, item_weights: Tensor) -> Tensor:
        """Retrieval scores user [B, D] x items [I + 1, D] -> [B, I + 1]: dot product, or cosine."""
        if self.temperature is not None:
            user, item_weights = F.normalize(user, dim=-1), F.normalize(item_weights, dim=-1)
        return user @ item_weights.T


def sampled_softmax_all_positions(states: Tensor, targets: Tensor, item_weights: Tensor, negatives: Tensor | None,
                                  temperature: float | None = None) -> Tensor:
    """Dot-product sampled softmax at every position: states [B, N, D], targets [B, N] (0 = no
    target), negatives [R] uniform item ids shared by the batch; a negative equal to a position's
    target is masked for that position. negatives None: the softmax over the whole catalogue
    (items 1..I; the "CE" SASRec of Klenitskiy & Vasilev 2023). temperature: cosine logits /
    temperature instead (our model's retrieval logits; the ablation of the logit form)."""
    keep = targets > 0
    s, t = states[keep], targets[keep]                                      # [M, D], [M]
    if temperature is not None:
        s, item_weights = F.normalize(s, dim=-1) / temperature, F.normalize(item_weights, dim=-1)
    if negatives is None:
        return CatalogueCrossEntropy.apply(s, item_weights[1:], t - 1).mean()  # item i at column i - 1
    pos = (s * item_weights[t]).sum(-1, keepdim=True)                       # [M, 1]
    neg = (s @ item_weights[negatives].T).masked_fill(negatives[None, :] == t[:, None], float("-inf"))
    return F.cross_entropy(torch.cat([pos, neg], dim=1), torch.zeros(len(t), dtype=torch.long, device=s.device))


def training_sequences(seqs, train_examples: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Per user: input = the training prefix without its last item, targets = it shifted by one,
    both the last max_len, left-padded: [U, max_len] each."""
    users = user_examples(train_examples)                                   # (u, last training target)
    inputs = np.zeros((len(users), max_len), np.int64)
    targets = np.zeros((len(users), max_len), np.int64)
    for row, (u, t) in enumerate(users):
        seq = seqs[u].items[:t + 1]
        x, y = seq[:-1][-max_len:], seq[1:][-max_len:]
        if len(x):
            inputs[row, max_len - len(x):], targets[row, max_len - len(y):] = x, y
    return inputs, targets


@torch.no_grad()
def evaluate_reference(model: ReferenceSASRec, seqs, examples: Sequence[tuple[int, int]], max_len: int,
                       batch_size: int = 512) -> dict[str, float]:
    """Full-catalogue ranking of each example's target from the last state of its history (the
    last max_len items before it); every earlier item of the user excluded, as evaluate() does."""
    model.eval()
    weights = model.item_weights()
    ranks = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        batch = make_batch(seqs, chunk, max_len)
        scores = model.logits(model(batch["history_items"])[:, -1], weights).numpy()  # [B, I + 1]
        ranks.append(target_ranks(scores, batch["target"].numpy(), history_items_of(seqs, chunk)))
    return {**rank_metrics(np.concatenate(ranks)), "users": float(sum(len(r) for r in ranks))}


def epoch_rows(lengths: np.ndarray, batch_size: int, max_len: int, rng: np.random.Generator,
               length_grouping: bool) -> list[np.ndarray]:
    """One epoch's batches of training-sequence rows: random (SASRec's), or of similar lengths as
    our trainer makes them (epoch_batches over (row, length) pairs)."""
    if not length_grouping:
        return np.array_split(rng.permutation(len(lengths)), max(1, len(lengths) // batch_size))
    rows_and_lengths = np.stack([np.arange(len(lengths)), lengths], axis=1)  # [U, 2]
    return [np.array([row for row, _ in batch])
            for batch in epoch_batches(rows_and_lengths, len(lengths), batch_size, max_len, rng)]


def train_reference(seqs, split, num_items: int, *, max_len: int = 50, d_model: int = 64, layers: int = 2,
                    heads: int = 1, dropout: float = 0.2, negatives: int = 256, batch_size: int = 128,
                    lr: float = 1e-3, epochs: int = 200, patience: int = 20, seed: int = 1,
                    temperature: float | None = None, length_grouping: bool = False,
                    checkpoint: RunCheckpoint | None = None, log=print) -> tuple[ReferenceSASRec, list[dict], int]:
    """User epochs, Adam, validation NDCG@10 every epoch, early stop after `patience` epochs
    without a better one; returns the best-validation model, the per-epoch history and its epoch.
    length_grouping: batches of similar sequence lengths as our trainer makes them (epoch_batches),
    instead of random batches (the ablation of that difference).
    checkpoint: written after every complete epoch, resumed from when it holds one (checkpoint.py)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ReferenceSASRec(num_items, d_model, layers, heads, max_len, dropout, temperature)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))
    inputs, targets = training_sequences(seqs, np.asarray(split.train), max_len)
    lengths = (inputs > 0).sum(1)                                           # [U]
    history, best, first_epoch, stopped_early = [], (-1.0, 0, None), 1, False
    if checkpoint is not None and (saved := checkpoint.load()) is not None:
        history, best, stopped_early, first_epoch = restore_epoch_state(saved, model, opt, rng)
        log(f"resumed from {checkpoint.path} after epoch {first_epoch - 1} (best so far: epoch {best[1]})"
            + ("; that run had already stopped early" if stopped_early else ""))
    with StopRequest(log) as stop:  # SIGUSR1 / Ctrl-C: end after this epoch, test the best one so far
        for epoch in range(first_epoch, (0 if stopped_early else epochs) + 1):
            model.train()
            t0, total, steps = time.time(), 0.0, 0
            for rows in epoch_rows(lengths, batch_size, max_len, rng, length_grouping):
                x, y = torch.from_numpy(inputs[rows]), torch.from_numpy(targets[rows])
                neg = torch.from_numpy(rng.integers(1, num_items + 1, negatives)) if negatives else None
                loss = sampled_softmax_all_positions(model(x), y, model.item_weights(), neg, temperature)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
            val = evaluate_reference(model, seqs, split.valid, max_len)
            history.append({"epoch": epoch, "loss": total / steps, **{f"valid_{k}": v for k, v in val.items()},
                            "seconds": time.time() - t0})
            log(f"epoch {epoch}: loss {total / steps:.4f} | valid hr@10 {val['hr@10']:.4f} ndcg@10 {val['ndcg@10']:.4f} "
                f"({time.time() - t0:.1f}s)")
            if val["ndcg@10"] > best[0]:
                best = (val["ndcg@10"], epoch, {k: v.clone() for k, v in model.state_dict().items()})
            elif epoch - best[1] >= patience:
                log(f"early stop: no better validation ndcg@10 in {patience} epochs")
                stopped_early = True
            if checkpoint is not None:  # a stop arrives after the steps: this epoch is complete
                checkpoint.save(epoch_state(epoch, model, opt, rng, history, best, stopped_early))
            if stopped_early or stop.requested:
                break
    model.load_state_dict(best[2])
    return model, history, best[1]


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--protocol", choices=["movielens", "beauty", "loo"], default=None,
                   help="default: beauty for beauty/scientific, movielens otherwise")
    p.add_argument("--max-history", type=int, default=50)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--negatives", type=int, default=256, help="uniform negatives per batch; 0: the whole catalogue")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cosine-temperature", type=float, default=None,
                   help="ablation: cosine logits / T (our model's form) instead of the dot product")
    p.add_argument("--length-grouping", action="store_true",
                   help="ablation: batches of similar sequence lengths, as our trainer makes them, instead of random")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--metrics-out")
    p.add_argument("--checkpoint", help="write the run's state here after every epoch; if the file exists, resume "
                                        "after its last epoch (same settings; --epochs/--patience may grow)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    protocol = args.protocol or ("beauty" if args.dataset in ("beauty", "scientific") else "movielens")
    ds = load_dataset(args.dataset, args.data_dir)
    actions = action_list(ds.events)
    seqs = group_by_user(ds.events, item_index(ds.items), actions, build_vocab(ds.items, ds.events), 8)
    split, split_info = make_split(seqs, protocol)
    print(f"reference SASRec+SS on {args.dataset}: {len(ds.items)} items, {len(seqs)} users; protocol {protocol}: "
          f"{PROTOCOL_TEXT[protocol]}; " + ", ".join(f"{k} {v}" for k, v in split_info.items()))
    run = None
    if args.checkpoint:  # what may change on resume: the budget, threads and outputs (checkpoint.py)
        fixed = {k: v for k, v in vars(args).items()
                 if k not in ("epochs", "patience", "threads", "metrics_out", "checkpoint", "data_dir")}
        run = RunCheckpoint(args.checkpoint, {**fixed, "data": data_fingerprint(ds.items, ds.events)})
    t0 = time.time()
    model, history, best_epoch = train_reference(
        seqs, split, len(ds.items), max_len=args.max_history, d_model=args.d_model, layers=args.layers,
        heads=args.heads, dropout=args.dropout, negatives=args.negatives, batch_size=args.batch_size, lr=args.lr,
        epochs=args.epochs, patience=args.patience, seed=args.seed, temperature=args.cosine_temperature,
        length_grouping=args.length_grouping, checkpoint=run)
    test = evaluate_reference(model, seqs, split.test, args.max_history)
    seconds = time.time() - t0
    print(f"model selection: epoch {best_epoch}; test ({int(test['users'])} users): "
          + json.dumps({k: round(v, 4) for k, v in test.items() if k != "users"}) + f" | trained in {seconds:.1f}s")
    if args.metrics_out:
        Path(args.metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.metrics_out).write_text(json.dumps({
            "model": "reference SASRec+SS", "data": f"{args.dataset}({args.data_dir})", "protocol": protocol,
            "split": split_info, "args": vars(args), "selected_epoch": best_epoch,
            "test": {k: round(v, 5) for k, v in test.items()}, "train_seconds": round(seconds, 1),
            "history": history}, indent=1) + "\n")


if __name__ == "__main__":
    main()
