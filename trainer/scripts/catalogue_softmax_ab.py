"""The softmax over the whole catalogue, forward + backward, two ways at a training batch's shape:
F.cross_entropy on the [M, I] logits (the trainer's loss before session 18) against the blockwise
losses.CatalogueCrossEntropy. Prints the largest gradient difference and the median time of each,
alternated (BENCHMARKS.md, "The catalogue softmax in cache-sized blocks").

    .venv/bin/python scripts/catalogue_softmax_ab.py M ITEMS [DIM]
    e.g. 13400 1682 (ML-100K batch), 20000 3615 (ml-1m-part), 900 12101 (Beauty)
"""
from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.nn.functional as F

from genrec_trainer.losses import CatalogueCrossEntropy


def forward_backward(loss, states, catalogue, targets):
    s, c = states.clone().requires_grad_(), catalogue.clone().requires_grad_()
    start = time.perf_counter()
    loss(s, c, targets).sum().backward()
    return time.perf_counter() - start, s.grad, c.grad


def main(m: int, items: int, dim: int = 64, repeats: int = 7) -> None:
    torch.set_num_threads(1)  # as the trainer runs by default
    torch.manual_seed(0)
    states, catalogue = torch.randn(m, dim) * 0.5, torch.randn(items, dim) * 0.5
    targets = torch.randint(0, items, (m,))
    whole = lambda s, c, t: F.cross_entropy(s @ c.T, t, reduction="none")  # noqa: E731
    blocks = CatalogueCrossEntropy.apply
    _, *want = forward_backward(whole, states, catalogue, targets)
    _, *got = forward_backward(blocks, states, catalogue, targets)
    diff = max((g - w).abs().max().item() for g, w in zip(got, want))
    times = {"F.cross_entropy": [], "CatalogueCrossEntropy": []}
    for _ in range(repeats):
        times["F.cross_entropy"].append(forward_backward(whole, states, catalogue, targets)[0])
        times["CatalogueCrossEntropy"].append(forward_backward(blocks, states, catalogue, targets)[0])
    a, b = (statistics.median(t) * 1e3 for t in times.values())
    print(f"M {m}, items {items}, dim {dim} (blocks of {CatalogueCrossEntropy.rows_per_block(items, states.device)} rows): "
          f"F.cross_entropy {a:.0f} ms, CatalogueCrossEntropy {b:.0f} ms ({a / b:.1f}x); largest gradient difference {diff:.1e}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
