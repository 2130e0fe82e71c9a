"""How well training uses the machine: matrix FLOPs per second against the machine's own matmul rate.

The ratio (nanoGPT's "MFU", here against a measured rate rather than a datasheet peak) says whether
an epoch is slow because the model is big or because the step wastes time around its products:
memory-bound ops over the [B, N, items] logits, padding, Python overhead.

The FLOPs are counted, not estimated from a formula: torch's FlopCounterMode sees every matrix
product the step runs, forward and backward, whichever losses and switches are on. Counting is
dear (every op goes through a Python dispatch hook: on 2 CPU cores an ML-100K epoch whose steps
were all counted took 17.6 s, one with none counted 8.1 s), so each batch shape is counted once and
its count reused: a step's products depend on its tensors' shapes and, in a log with searches, on
how many of its events carry a query (model.prefix_users reads those at RET); with the dense loss
also, slightly, on how many targets are real rather than padding (a recount of one shape differs
by ~2 %), which a utilisation figure can ignore.

Batches padded to their own history length (train.epoch_batches) come in up to max_history
lengths, and with random length pools new shapes keep coming: ml-1m-part's 150 epochs (3,600 steps)
hold 137 distinct shapes. On a GPU, where a step is cheap, that counting was most of an epoch:
5.0-7.7 s for epochs 2-5 on an H200, 1.9-2.1 s without it. But with everything else fixed, a
step's products are about a quadratic in the history length N (projections and logits grow with
N, attention with N^2), so a length between counted lengths of its family is computed from three
of them (within 2 % of a real count in test_flops, on the recipe's training step; as close as two
counts of one shape). Of those 137 shapes, 7 are counted.
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Hashable, TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

T = TypeVar("T")


def _mm_flops(a: torch.Tensor, b: torch.Tensor, *args, out_val=None, **kwargs) -> int:
    """aten.mm's FLOPs with a sparse operand counted by its stored entries. torch's own formula sees shapes only and
    counts torch.sparse.mm as the dense product: for the item-text table (model.text_table, [I + 1, V] with a few
    tokens per row, times the token embeddings) that is ~5 GFLOP a step on Amazon Scientific that are never
    computed, and an epoch's utilisation read 119-147 % of the machine's matmul rate."""
    if a.is_sparse:
        return 2 * a._nnz() * b.shape[1]
    if b.is_sparse:
        return 2 * b._nnz() * a.shape[0]
    return 2 * a.shape[0] * a.shape[1] * b.shape[1]


_mm_flops._get_raw = True  # FlopCounterMode hands a "raw" formula the tensors themselves, not their shapes


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode that counts sparse products by their stored entries (_mm_flops)."""
    return FlopCounterMode(display=False, custom_mapping={torch.ops.aten.mm: _mm_flops})


def matmul_rate(device: torch.device) -> float:
    """FLOP/s of a [1024, 1024] x [1024, 1024] float32 product on `device` with torch's current
    threads: the machine's rate for the work training is counted in. Measured once per process
    (device, threads)."""
    return square_matmul_rate(str(device), torch.get_num_threads())


@functools.lru_cache(maxsize=None)
def square_matmul_rate(device_name: str, threads: int, size: int = 1024, seconds: float = 0.3,
                       dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a [size, size] x [size, size] product; `threads` is the caller's torch thread count (a cache key)."""
    device = torch.device(device_name)
    a = torch.full((size, size), 0.5, device=device, dtype=dtype)  # not randn: the run's random stream stays untouched
    b = torch.full((size, size), 0.25, device=device, dtype=dtype)
    return rate_of(lambda: a @ b, 2.0 * size ** 3, seconds,
                   (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None))


def rate_of(run: Callable[[], object], flops_per_run: float, seconds: float, sync: Callable[[], None]) -> float:
    """FLOP/s of `run` repeated for `seconds` (at least 3 runs) after 3 unmeasured ones (thread pool,
    allocator, kernel selection)."""
    for _ in range(3):
        run()
    sync()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 3:
        run()
        runs += 1
        if runs % 8 == 0:
            sync()
    sync()
    return flops_per_run * runs / (time.perf_counter() - start)


class StepFlops:
    """Matrix FLOPs (forward + backward) of training steps, counted once per batch shape (or computed from three
    counted history lengths of its family)."""

    def __init__(self):
        self._by_shape: dict[Hashable, int] = {}
        self._by_length: dict[Hashable, dict[int, int]] = {}  # length family -> {N: counted FLOPs}

    @staticmethod
    def shape_of(batch: dict[str, torch.Tensor]) -> Hashable:
        """What a step's products depend on: every tensor's shape, and how many rows of each query
        tensor hold a query."""
        return tuple(sorted((name, tuple(t.shape), int(t.ne(0).any(-1).sum()) if name.endswith("query_tokens") else -1)
                            for name, t in batch.items()))

    @staticmethod
    def length_family(shape: Hashable) -> tuple[Hashable, int] | None:
        """A shape_of() key without its history length N (the second dimension of the history_* tensors),
        and N; None for any other key."""
        try:
            n = next(dims[1] for name, dims, _ in shape if name == "history_items")
            return tuple((name, (dims[0], None, *dims[2:]) if name.startswith("history_") else dims, queries)
                         for name, dims, queries in shape), n
        except (TypeError, ValueError, StopIteration, IndexError):
            return None

    MAX_NOISE_GAIN = 1.5  # the most a count's noise may be amplified: sum of |Lagrange weights|

    def _from_counted_lengths(self, shape: Hashable) -> int | None:
        """The quadratic through three counted lengths of the family at this one's length (Lagrange): the nearest
        counted length on each side and the third that amplifies the counts' noise least. None (count it) below
        three counted lengths, outside their range (no extrapolating), or where the three would amplify noise
        more than MAX_NOISE_GAIN: two counts of nearly one length (10 and 12) fix a slope of their ~2 % noise,
        which at a far length (150) became a negative count, as seen on resuming a run."""
        family = self.length_family(shape)
        counted = self._by_length.get(family[0], {}) if family else {}
        n = family[1] if family else 0
        if len(counted) < 3 or not min(counted) < n < max(counted):
            return None
        below, above = max(c for c in counted if c < n), min(c for c in counted if c > n)
        gain, weights = min(((sum(map(abs, w.values())), w) for w in (self._lagrange_weights(n, (below, above, third))
                                                                    for third in counted if third not in (below, above))),
                            key=lambda gain_and_weights: gain_and_weights[0])
        if gain > self.MAX_NOISE_GAIN:
            return None
        return round(sum(w * counted[length] for length, w in weights.items()))

    @staticmethod
    def _lagrange_weights(n: int, lengths: tuple[int, int, int]) -> dict[int, float]:
        """The weight of each length's value in the quadratic through the three, at n."""
        return {a: (n - b) * (n - c) / ((a - b) * (a - c))
                for a, b, c in (lengths, lengths[1:] + lengths[:1], lengths[2:] + lengths[:2])}

    def run(self, shape: Hashable, step: Callable[[], T]) -> tuple[T, int]:
        """Runs `step`: its result and its FLOPs, counted while it runs only when `shape` has not been seen
        and its count cannot be computed from counted lengths of its family."""
        if shape not in self._by_shape:
            computed = self._from_counted_lengths(shape)
            if computed is not None:
                self._by_shape[shape] = computed
        if shape in self._by_shape:
            return step(), self._by_shape[shape]
        with flop_counter() as counter:
            result = step()
        flops = self._by_shape[shape] = counter.get_total_flops()
        family = self.length_family(shape)
        if family:
            self._by_length.setdefault(family[0], {})[family[1]] = flops
        return result, flops
