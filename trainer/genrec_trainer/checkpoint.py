"""Resuming an interrupted training run where it ended.

A long run outlives what it runs in: ml-1m-part's runs go 70-100 epochs to their patience, hours
on a 2-core machine beside another run: longer than a work session, a preemptible cloud node or a
laptop lid.
With a checkpoint path the trainers write, after every complete epoch, everything the next epoch
depends on (weights, the optimizer's moments, both random number generators, the best epoch so far
with its weights, the per-epoch history); started again with the same path and the same settings,
they continue after the last epoch written. With one thread the resumed run is bit-identical to one
that was never interrupted (tests/test_checkpoint.py).

Settings fix what a run is: a file written under other settings (data, model, losses, seed, ...) is
refused, naming what differs, instead of silently continuing a different run. The epoch budget,
patience, threads, device, logging and output paths may change between the two starts: that is how
a finished run is given more epochs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

FORMAT = 1


def comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as JSON would store them (tuples as lists), so a read-back file compares equal."""
    return json.loads(json.dumps(settings, sort_keys=True))


class RunCheckpoint:
    """One run's resumable state in one file; `save` replaces it atomically (a kill mid-write
    leaves the previous epoch's file, never a torn one)."""

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = comparable(settings)

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no file yet (a fresh run)."""
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)  # data only: no code runs
        except Exception as e:  # a truncated or foreign file: say which, do not start over silently
            raise ValueError(f"checkpoint {self.path} cannot be read ({e}); delete it to start the run afresh") from e
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError(f"checkpoint {self.path} is not a genrec training checkpoint of format {FORMAT}")
        theirs = saved["settings"]
        differ = sorted(k for k in self.settings.keys() | theirs.keys() if self.settings.get(k) != theirs.get(k))
        if differ:
            raise ValueError(f"checkpoint {self.path} belongs to a run with other settings: "
                             + "; ".join(f"{k} {theirs.get(k)!r} there, {self.settings.get(k)!r} here" for k in differ)
                             + ". Use the same settings to resume it, or another checkpoint path for a new run")
        return saved["state"]

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save({"format": FORMAT, "settings": self.settings, "state": state}, partial)
        os.replace(partial, self.path)


def epoch_state(epoch: int, model: torch.nn.Module, opt: torch.optim.Optimizer, rng, history: list[dict],
                best: tuple, stopped_early: bool, **extra: Any) -> dict[str, Any]:
    """What a checkpoint holds after a complete epoch: everything the next one depends on. best =
    (validation score, epoch, weights or None); extra: a trainer's own state (its loss weighter ...)."""
    return {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": rng_state(rng),
            "history": json.loads(json.dumps(history)),  # numpy scalars as plain floats: a data-only file
            "best": (float(best[0]), best[1], best[2]), "stopped_early": stopped_early, **extra}


def restore_epoch_state(saved: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer,
                        rng) -> tuple[list[dict], tuple, bool, int]:
    """Puts epoch_state's weights, optimizer and random state back; returns the history, the best
    epoch so far, whether the run had stopped early and the first epoch still to run."""
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    restore_rng_state(rng, saved["rng"])
    return saved["history"], tuple(saved["best"]), saved["stopped_early"], saved["epoch"] + 1


def rng_state(rng) -> dict[str, Any]:
    """The process's random state: the run's numpy generator and torch's CPU (and CUDA) generators."""
    state = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(rng, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
