"""The encode graph's rotary rows, made by the runtime and handed to the graph as inputs (docs/bundle-format.md,
"Rotary rows").

Why outside the graph: the rows are arithmetic on the N + 2 tokens' positions and ages (the rotary angles, their
cosines and sines, the row ids), ~45 kernels of about a microsecond each in the exported graph, a fixed cost that
weighed most on short histories. Handed in, the encode graph is 9-15 % faster (BENCHMARKS.md, "Session 46: the
rotary rows and slot masks from the runtime"). The graph keeps all its FLOPs.

This file is the specification the Java runtime's RotaryRows mirrors step by step, float32 where the model computes in
float32, so that both reproduce what GenRecModel computes inside (TimeRotary, _event_positions, _run_blocks): the
trainer's tests hold this file to the model, and the golden vectors hold Java to this file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

ROTARY_COS, ROTARY_SIN, ROTARY_IDS, KEY_ROTARY_IDS = "rotary_cos", "rotary_sin", "rotary_ids", "key_rotary_ids"
TWO_PI = np.float32(2 * math.pi)


@dataclass(frozen=True)
class RotarySpec:
    """What the rows depend on: the manifest's "rotary" object."""
    position_frequencies: tuple[float, ...]  # float32 values: pair i of the first n_pos turns with position * f_i
    time_frequencies: tuple[float, ...]      # float32 values (time_scale "log"): time pair j turns with log1p(age / 60) * f_j
    time_periods: tuple[int, ...]            # seconds (time_scale "linear"): time pair j turns once per period
    time_scale: str                          # "log" | "linear"
    tie_positions: bool                      # events of one second share the position of the first of them
    query_time: str                          # "own" | "next": a history token's query turns at the next event's age

    @staticmethod
    def of_model(model) -> "RotarySpec":
        rotary, cfg = model.rotary, model.cfg
        return RotarySpec(tuple(rotary.inv_freq_pos.tolist()), tuple(rotary.inv_freq_time.tolist()),
                          tuple(int(p) for p in rotary.periods.tolist()), rotary.time_scale, cfg.tie_positions,
                          cfg.query_time)

    @staticmethod
    def of_manifest(rotary: dict[str, Any]) -> "RotarySpec":
        return RotarySpec(tuple(rotary["position_frequencies"]), tuple(rotary["time_frequencies"]),
                          tuple(rotary["time_periods"]), rotary["time_scale"], rotary["tie_positions"], rotary["query_time"])

    def manifest(self) -> dict[str, Any]:
        return {"position_frequencies": list(self.position_frequencies), "time_frequencies": list(self.time_frequencies),
                "time_periods": list(self.time_periods), "time_scale": self.time_scale,
                "tie_positions": self.tie_positions, "query_time": self.query_time}

    def input_names(self) -> list[str]:
        """The encode graph's rotary inputs, in graph order (after every other input)."""
        return [ROTARY_COS, ROTARY_SIN, ROTARY_IDS, *([KEY_ROTARY_IDS] if self.query_time == "next" else [])]


def rotary_inputs(spec: RotarySpec, valid: np.ndarray, ages: np.ndarray) -> dict[str, np.ndarray]:
    """valid [B, N] bool (a real event, not padding: its action is not 0), ages [B, N] int64 (history_age_seconds) ->
    the encode graph's rotary inputs for its S = N + 2 tokens (the events, the query context, RET):
    rotary_cos, rotary_sin float32 [R, P] with P = len(position_frequencies) + the time pairs, one row per token and
    rotation: R = B * S rows, token t of request b at row b * S + t (rotary_ids [B, S]); with query_time "next" R =
    2 * B * S, the queries' rows first, the keys' after them (key_rotary_ids = rotary_ids + B * S)."""
    b, n = valid.shape
    s = n + 2
    n_real = valid.sum(1, keepdims=True)                                    # [B, 1]
    if spec.tie_positions:  # the real events older than it (events come in time order): its tie group's first index
        older = ages[:, None, :] > ages[:, :, None]                         # [B, N (event), N (other)]
        event_positions = (older & valid[:, None, :]).sum(-1)               # [B, N]
    else:                   # the real events before it (left padding: 0)
        event_positions = np.maximum(np.cumsum(valid, 1) - 1, 0)           # [B, N]
    # counted from RET's place, where every candidate sits (GenRecModel.encode_served): context -1, RET 0
    positions = np.concatenate([event_positions, n_real, n_real + 1], 1) - (n_real + 1)  # [B, S]
    key_ages = np.concatenate([np.where(valid, np.maximum(ages, 0), 0), np.zeros((b, 2), np.int64)], 1)  # [B, S]
    ids = np.arange(b * s, dtype=np.int64).reshape(b, s)
    angles = [_angles(spec, positions, key_ages)]                           # [B * S, P]
    out = {ROTARY_IDS: ids}
    if spec.query_time == "next":  # event i asks at event i + 1's age, the last event and the extra tokens at 0
        query_ages = np.concatenate([key_ages[:, 1:n], np.zeros((b, 3), np.int64)], 1)  # [B, S]
        angles.insert(0, _angles(spec, positions, query_ages))
        out[KEY_ROTARY_IDS] = ids + b * s
    rows = np.concatenate(angles, 0).astype(np.float64)
    return {ROTARY_COS: np.cos(rows).astype(np.float32), ROTARY_SIN: np.sin(rows).astype(np.float32)} | out


def _angles(spec: RotarySpec, positions: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """positions [B, S] int, ages [B, S] int64 (>= 0) -> float32 [B * S, P]: TimeRotary.forward's angles, in its float32
    steps (a cosine then agrees with the model's to float32 rounding)."""
    by_position = positions.astype(np.float32)[..., None] * np.asarray(spec.position_frequencies, np.float32)
    if spec.time_scale == "linear":  # the int64 remainder first, exact; only it is cast
        periods = np.asarray(spec.time_periods, np.int64)
        turns = (ages[..., None] % periods).astype(np.float32) / periods.astype(np.float32)
        by_time = turns * TWO_PI
    else:
        minutes = ages.astype(np.float32) / np.float32(60.0)
        by_time = np.log1p(minutes.astype(np.float64)).astype(np.float32)[..., None] * np.asarray(
            spec.time_frequencies, np.float32)
    return np.concatenate([by_position, by_time], -1).reshape(-1, by_position.shape[-1] + by_time.shape[-1])
