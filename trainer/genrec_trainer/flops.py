"""How well training uses the machine: matrix FLOPs per second against the machine's own matmul rate.

The ratio (nanoGPT's "MFU", here against a measured rate rather than a datasheet peak) says whether
an epoch is slow because the model is big or because the step wastes time around its products:
memory-bound ops over the [B, N, items] logits, padding, Python overhead.

The FLOPs are counted, not estimated from a formula: torch's FlopCounterMode sees every matrix
product the step runs, forward and backward, whichever losses and switches are on. Counting costs
~7 % of a short step (every op goes through a Python dispatch hook), so each batch shape is counted
once and its count reused: a step's products depend on its tensors' shapes and, in a log with
searches, on how many of its events carry a query (model.prefix_users reads those at RET), not
on other values.
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Hashable, TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

T = TypeVar("T")


def matmul_rate(device: torch.device) -> float:
    """FLOP/s of a [1024, 1024] x [1024, 1024] float32 product on `device` with torch's current
    threads: the machine's rate for the work training is counted in. Measured once per process
    (device, threads)."""
    return _matmul_rate(str(device), torch.get_num_threads())


@functools.lru_cache(maxsize=None)
def _matmul_rate(device_name: str, threads: int, size: int = 1024, seconds: float = 0.3) -> float:
    device = torch.device(device_name)
    a = torch.full((size, size), 0.5, device=device)  # not randn: the run's random stream stays untouched
    b = torch.full((size, size), 0.25, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(3):  # warm-up: thread pool, allocator, kernel selection
        a @ b
    sync()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 3:
        a @ b
        runs += 1
        if runs % 8 == 0:
            sync()
    sync()
    elapsed = time.perf_counter() - start
    return 2.0 * size ** 3 * runs / elapsed


class StepFlops:
    """Matrix FLOPs (forward + backward) of training steps, counted once per batch shape."""

    def __init__(self):
        self._by_shape: dict[Hashable, int] = {}

    @staticmethod
    def shape_of(batch: dict[str, torch.Tensor]) -> Hashable:
        """What a step's products depend on: every tensor's shape, and how many rows of each query
        tensor hold a query."""
        return tuple(sorted((name, tuple(t.shape), int(t.ne(0).any(-1).sum()) if name.endswith("query_tokens") else -1)
                            for name, t in batch.items()))

    def run(self, shape: Hashable, step: Callable[[], T]) -> tuple[T, int]:
        """Runs `step`: its result and its FLOPs, counted while it runs only the first time `shape` is seen."""
        if shape in self._by_shape:
            result = step()
        else:
            with FlopCounterMode(display=False) as counter:
                result = step()
            self._by_shape[shape] = counter.get_total_flops()
        return result, self._by_shape[shape]
