"""An exponential moving average of the weights, read wherever the model is judged or shipped.

Why: on ML-100K a run's validation NDCG@10 swings by several percent from one epoch to the next (943 users, 8 steps an
epoch at batch 128), so the best epoch chosen on validation is partly the luckiest step. The average of the last few
epochs' weights sits in the middle of that swing (Polyak averaging; the "EMA" of many vision and language recipes).

Training steps the raw weights; validation, model selection, the test and the export read the averaged ones
(`applied`). The horizon is given in epochs, so it means the same on a log of 943 users and one of 22,363: the decay per
step is 1 - 1 / (epochs x steps per epoch). Early on the decay is held lower, (1 + t) / (10 + t) after t updates, so the
initial random weights do not linger in the average for the whole first horizon.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch


class WeightAverage:
    """The moving average of a model's floating-point state (parameters and float buffers)."""

    def __init__(self, model: torch.nn.Module, epochs: float):
        if epochs <= 0:
            raise ValueError(f"the weight average's horizon is a positive number of epochs, not {epochs}")
        self.epochs = epochs
        self.updates = 0
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def decay(self, steps_per_epoch: int) -> float:
        """This update's decay: the horizon's, or less while the average is young."""
        horizon = 1.0 - 1.0 / (self.epochs * max(steps_per_epoch, 1))
        return min(horizon, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module, steps_per_epoch: int) -> None:
        """After an optimizer step: average <- decay * average + (1 - decay) * weights."""
        weight = 1.0 - self.decay(steps_per_epoch)
        state = model.state_dict()
        for k, avg in self.average.items():
            avg.lerp_(state[k], weight)
        self.updates += 1

    @contextlib.contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """The model reads the averaged weights inside the block, its own again after it."""
        raw = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.average}
        model.load_state_dict(self.average, strict=False)
        try:
            yield
        finally:
            model.load_state_dict(raw, strict=False)

    def state(self) -> dict[str, Any]:
        """For a checkpoint: what the next update depends on."""
        return {"updates": self.updates, "average": self.average}

    def restore(self, state: dict[str, Any]) -> None:
        self.updates = state["updates"]
        for k, v in state["average"].items():
            self.average[k].copy_(v)
