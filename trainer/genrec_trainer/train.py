"""Train a genrec model and export a bundle.

    python -m genrec_trainer.train --dataset synthetic --out DIR [--epochs N --seed S --model-id ID]
    python -m genrec_trainer.train --events events.jsonl --items items.jsonl --out DIR   (.jsonl/.csv/.parquet)
        [--recipe quality]   (the benchmarks' recipe instead of the small quick model; recipes.py)
    python -m genrec_trainer.train --dataset ml-100k --data-dir ../shared/data/ml-100k --max-history 200 \
        [--preset ours|sasrec|hstu] [--rank-loss bce+pairwise] [--enhancer] [--adaptive-weights] \
        [--curves curves.png --metrics-out metrics.json] --out DIR

Presets (one harness, one protocol): ours = softmax (Llama) block + time-aware RoPE + item text;
sasrec = softmax block, no time signal, no item text (SASRec with sampled softmax);
hstu = HSTU block (pointwise SiLU attention, U-gate), learned time-bucket bias when the data has
timestamps (else none), no item text. --block/--time-signal/--item-text override a preset.
Every preset reads each event's action (MovieLens: its rating); --action-input off leaves it out, which
makes the sasrec preset's inputs the published SASRec's (item ids only).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import synthetic
from .checkpoint import RunCheckpoint, epoch_state, restore_epoch_state
from .cooccurrence import CoOccurrence
from .data import (Split, UserSequence, build_vocab, data_fingerprint, group_by_user, item_index, item_token_table,
                   make_batch, shuffled_within_seconds)
from .datasets import DATASETS, load_dataset, load_generic
from .evaluate import (CO_OCCURRENCE_WEIGHTS, PROTOCOL_TEXT, RETRIEVAL_WEIGHTS, ServedWindows, choose_retrieval_weight,
                       choose_served_weights, equal_timestamp_events, evaluate,
                       evaluate_new_history_items, evaluate_served_windows, example_ranks, example_scores, make_split)
from .export import default_golden_requests, export_bundle
from .flops import StepFlops, matmul_rate
from .losses import AdaptiveLossWeighter
from .model import GenRecModel, ModelConfig
from .objective import Enhancer, Objective
from .recipes import FULL_SOFTMAX_MAX_ITEMS, QUALITY_CO_OCCURRENCE, QUALITY_CO_OCCURRENCE_SPAN, RECIPES, resolve
from .schema import Event, Item, finite_or_null
from .search import ItemQueries, attach_training_queries, evaluate_search
from .stopping import StopRequest
from .weight_average import WeightAverage

PRESETS = {"ours": {"block": "softmax", "time_signal": "rope", "item_text": True},
           "sasrec": {"block": "softmax", "time_signal": "none", "item_text": False},
           "hstu": {"block": "hstu", "time_signal": "bucket", "item_text": False}}


# train() arguments that may differ when a checkpointed run is resumed (budget, logging, outputs,
# hardware); every other argument is part of what the run is (checkpoint.py). items/events are
# compared by their fingerprint instead.
MAY_CHANGE_ON_RESUME = {"items", "events", "log", "epochs", "patience", "threads", "device", "progress_every", "curves",
                        "metrics_out", "ranks_out", "scores_out", "search_log_out", "out", "export", "model_id", "model_version",
                        "data_desc", "checkpoint", "rerank_top", "retrieval_weight", "new_history_items",
                        "co_occurrence", "co_occurrence_weight", "co_occurrence_span"}


def decays_now(epoch: int, best_epoch: int, eval_every: int, decay_patience: int) -> bool:
    """Whether the validation at `epoch` completes another `decay_patience` validations without a better one than
    `best_epoch`'s (the learning rate then decays once more)."""
    since = epoch - best_epoch
    return bool(decay_patience) and since > 0 and since % (decay_patience * eval_every) == 0


def action_list(events: Sequence[Event]) -> list[str]:
    # click/purchase style logs: keep a canonical, data-order-independent list.
    return sorted({e.action for e in events})


# train() arguments added after checkpoints were written: at their default they are left out of a
# checkpoint's settings, so a run checkpointed before the argument existed still resumes.
ADDED_LATER = {"exclude_seen": False, "time_scale": "log", "action_input": True, "tied_next": 1, "tie_positions": False,
               "query_time": "own", "lr_decay_patience": 0, "lr_decay": 0.5, "item_id_dropout": 0.0,
               "absolute_time_days": 0.0, "adaptive_every": "step", "time_rope_fraction": 0.5,
               "time_rope_slowest": 0.0, "shuffle_ties": False, "weight_average_epochs": 0.0}


def absolute_time_buckets(seqs: Sequence[UserSequence], train_examples: Sequence[tuple[int, int]],
                          days: float) -> dict:
    """ModelConfig's absolute-time fields for buckets of `days`: from the log's first event to the last training
    target's time (a validation or test event later than that reads the last bucket, as a served request made after
    training does). {} when days is 0."""
    if not days:
        return {}
    origin = min(int(s.timestamps[0]) for s in seqs if len(s.timestamps))
    end = max(int(seqs[u].timestamps[t]) for u, t in train_examples)
    width = max(1, round(days * 86400))
    return {"absolute_time_buckets": (end - origin) // width + 1, "absolute_time_origin": origin,
            "absolute_time_width": width}


LENGTH_POOL = 8  # epoch_batches sorts by history length within pools of this many batches


def epoch_batches(examples: np.ndarray, count: int, batch_size: int, max_history: int,
                  rng: np.random.Generator, pool: int = LENGTH_POOL) -> list[list[tuple[int, int]]]:
    """A random sample of `count` examples cut into batches. Within pools of `pool` batches the
    examples are sorted by history length, so a batch is padded to ~its own length instead of
    max_history (about 2x faster on CPU); the batch order is shuffled again. pool = 0: no sorting,
    every batch a random draw (a dense loss, averaged over a batch's targets, then weighs every
    target alike; length-sorted batches weigh a short history's targets more)."""
    chosen = examples[rng.permutation(len(examples))[:count]]
    batches, block_size = [], max(pool, 1) * batch_size
    for start in range(0, len(chosen), block_size):
        block = chosen[start:start + block_size]
        if pool:
            block = block[np.argsort(np.minimum(block[:, 1], max_history), kind="stable")]
        batches += [[(int(u), int(t)) for u, t in block[i:i + batch_size]] for i in range(0, len(block), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def dense_targets_per_batch(examples: np.ndarray, batch_size: int, max_history: int) -> float:
    """The dense loss's targets in an average batch: every history event (up to max_history) of an
    example (u, t) has a next event to predict, so an example carries min(t, max_history)."""
    return batch_size * float(np.minimum(examples[:, 1], max_history).mean())


# Validation criteria of early stopping and checkpoint selection. One checkpoint serves both heads,
# and on ML-100K validation AUC peaks some epochs away from validation NDCG@10 (BENCHMARKS.md), so
# the sum is offered: both lie in [0, 1], and AUC moves about as much as NDCG@10 while training.
SELECTION_CRITERIA = {
    "ndcg@10": lambda val: val["ndcg@10"],
    "auc": lambda val: val["auc"],
    "ndcg@10+auc": lambda val: val["ndcg@10"] + val["auc"],
}


def selection_score(val: dict[str, float], criterion: str) -> float:
    """The validation figure that select_on=criterion maximizes; AUC is NaN without labels: refused."""
    score = SELECTION_CRITERIA[criterion](val)
    if math.isnan(score):
        raise ValueError(f"--select-on {criterion}: the validation AUC is undefined (the log has no "
                         f"negative labels); select on ndcg@10")
    return score


def resolve_device(name: str) -> torch.device:
    """"auto" = CUDA when torch sees a GPU, else CPU. Asking for CUDA where there is none is an error,
    not a silent (and 50x slower) CPU run."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch {torch.__version__} sees no CUDA device (use --device cpu)")
    return torch.device(name)


def user_examples(train_examples: np.ndarray) -> np.ndarray:
    """One example per user: the user's last training target, whose history is the whole training
    prefix (up to max_history). With the dense loss every position of it is a target, so one epoch
    sees each training event once, as SASRec's epochs do."""
    last: dict[int, int] = {}
    for u, t in train_examples:
        last[int(u)] = max(int(t), last.get(int(u), -1))
    return np.asarray(sorted(last.items()), dtype=np.int64).reshape(-1, 2)


def write_example_ranks(path: str, ranks: Sequence[tuple[int, int, int]], seqs: Sequence[UserSequence],
                        items: Sequence[Item]) -> None:
    """One JSON line per test event: its user, position, target item, rank (0-based) and label, and the two facts
    about it a paired comparison splits by: the history's length and the seconds since the event before (0: logged
    in the same second, which ties make common on MovieLens; null without timestamps or history)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for u, t, rank in sorted(ranks):
            seq = seqs[u]
            gap = int(seq.timestamps[t] - seq.timestamps[t - 1]) if t > 0 and seq.timestamps[t] > 0 else None
            f.write(json.dumps({"user": seq.user_id, "position": t, "item": items[seq.items[t] - 1].item_id,
                                "rank": rank, "label": int(seq.labels[t]), "history": t,
                                "seconds_since_previous": gap}) + "\n")


def write_example_scores(path: str, model: GenRecModel, seqs: Sequence[UserSequence], split: Split,
                         max_history: int) -> None:
    """The validation and test requests' full-catalogue scores as one .npz (evaluate.example_scores): arrays
    valid_examples / valid_scores and test_examples / test_scores, examples as (user index, position, target item)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, examples in (("valid", split.valid), ("test", split.test)):
        arrays[f"{name}_examples"], arrays[f"{name}_scores"] = example_scores(model, seqs, examples, max_history)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def plot_curves(history: Sequence[dict], path: str, title: str = "") -> None:
    """Per-epoch training losses and validation metrics as a PNG (needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no curves (pip install -r requirements.txt)")
        return
    ep = [h["epoch"] for h in history]
    evaluated = [h for h in history if "valid_ndcg@10" in h]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [h["retrieval_loss"] for h in history], "o-", label="retrieval (sampled softmax)")
    a.plot(ep, [h["ranking_loss"] for h in history], "o-", label="ranking")
    a.set_xlabel("epoch"), a.set_ylabel("training loss"), a.legend()
    for key in ("valid_hr@10", "valid_ndcg@10", "valid_mrr", "valid_auc"):
        b.plot([h["epoch"] for h in evaluated], [h[key] for h in evaluated], "o-", label=key[6:])
    b.set_xlabel("epoch"), b.set_ylabel("validation"), b.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(items: Sequence[Item], events: Sequence[Event], *, out: str, data_desc: str, seed: int = 7,
          epochs: int = 8, model_id: str = "synthetic", model_version: str = "1", max_history: int = 50,
          max_query_tokens: int = 8, max_item_tokens: int = 16, d_model: int = 32, layers: int = 2, heads: int = 2,
          batch_size: int = 256, examples_per_epoch: int = 10_000, negatives: int = 512,
          rank_negatives: int | None = None,
          lr: float = 3e-3, temperature: float = 0.05, threads: int = 1, log=print,
          protocol: str = "loo", block: str = "softmax", time_signal: str = "rope", item_text: bool = True,
          action_input: bool = True,
          rank_loss: str = "bce", pairwise_weight: float = 1.0, enhancer: bool = False, enhancer_top: int = 20,
          enhancer_hard: int = 5, favourite_threshold: float = 0.9, favourite_weight: float = 0.5,
          adaptive_weights: bool = False, adaptive_temperature: float = 1.0, adaptive_every: str = "epoch",
          select_best: bool = False,
          select_on: str = "ndcg@10",
          curves: str | None = None, metrics_out: str | None = None, ranks_out: str | None = None,
          scores_out: str | None = None, search_log_out: str | None = None,
          progress_every: int = 0,
          export: bool = True, dense_loss: bool = False, dense_weight: float = 1.0, dense_readout: str = "history",
          dropout: float = 0.0, attention_dropout: float = 0.0, mlp_ratio: float = 2.0, adam_beta2: float = 0.999,
          norm: str = "rms", mlp: str = "swiglu", item_init_std: float = 0.1, position_init_std: float = 0.1,
          weight_decay: float = 0.0, sampling: str = "examples", full_softmax: bool = False, eval_every: int = 1,
          patience: int = 0, search_queries: str | None = None, search_fraction: float = 0.5,
          device: str = "cpu", similarity: str = "cosine", readout: str = "ret", tied_embeddings: bool = False,
          in_batch_negatives: bool = True, input_scale: float = 1.0, rank_weight: float = 1.0,
          dense_rank: bool = False,
          recency_positions: int = 0, target_weight: float = 1.0, length_grouping: bool = True,
          dense_divisor: str = "batch", dense_search: bool = True, exclude_seen: bool = False,
          tied_next: int = 1, tie_positions: bool = False, shuffle_ties: bool = False, time_scale: str = "log",
          time_rope_fraction: float = 0.5, time_rope_slowest: float = 0.0, query_time: str = "own",
          checkpoint: str | None = None, rerank_top: int = 100, retrieval_weight: float | None = None,
          co_occurrence: int = 0, co_occurrence_weight: float | None = None, co_occurrence_span: int = 0,
          lr_decay_patience: int = 0, lr_decay: float = 0.5, item_id_dropout: float = 0.0,
          new_history_items: float = 0.0, absolute_time_days: float = 0.0,
          weight_average_epochs: float = 0.0) -> dict:
    """sampling: "examples" = `examples_per_epoch` random (user, target) pairs per epoch; "users" =
    every user once per epoch with the whole training prefix (use with dense_loss).
    dense_readout: where the dense next-item loss reads each prefix's user embedding: "history" = the
    user head on each history event's own state (cheap; inference never reads there), "ret" = RET
    after each prefix (model.prefix_users, one extra pass over 3N tokens; inference reads there).
    full_softmax: retrieval losses over the whole catalogue instead of `negatives` uniform samples.
    length_grouping: batches of similar history lengths (epoch_batches; faster), else random batches.
    dense_divisor: "batch" = the dense loss is the mean over the batch's targets (SASRec); "fixed" = their
    sum over the expected targets per batch (batch_size x the mean training history), so batches of
    similar lengths weigh every target alike, as random batches do on average (dense_targets_per_batch);
    with dense_rank the ranking BCE over its ranked events too.
    dense_search: with dense_loss, a next event reached through a search (an event with a query) is
    predicted after the prefix plus that query, read where a search request is read (RET); off, the
    dense loss reads every prefix without a query.
    dense_rank: the ranking BCE also on each labelled history event, scored after its own prefix
    (model.score_every_prefix); needs a log with labels (MovieLens ratings).
    eval_every: validate every N epochs (and after the last); patience: stop after that many
    validations without a better validation `select_on` (0: never).
    item_id_dropout: each training step, this share of the items (inputs, targets and negatives alike) lose their id
    row and are seen through their title/category text alone, as an item added after training would be (needs
    item_text); the test's cold_* metrics measure the result, and the bundle's encode graph then reads a history event
    of such an item by its text (export_bundle's new_history_items).
    new_history_items: test only: with this share of the items taken as added after training, the newhist_* metrics
    (evaluate.evaluate_new_history_items).
    weight_average_epochs: > 0: validation, model selection, the test and the export read an exponential moving average
    of the weights over about this many epochs (weight_average.WeightAverage); training steps the raw weights.
    lr_decay_patience: multiply the learning rate by lr_decay after every that many validations without a
    better one (0: a constant rate); counted from the best epoch, as patience is, so a resumed run keeps it.
    select_on: the validation criterion of early stopping and select_best (SELECTION_CRITERIA).
    similarity: "cosine" (logits = cosine / temperature) | "dot" (raw dot products; temperature unused).
    target_weight: with dense_loss, the weight of the example-level retrieval loss beside the dense one.
    rank_weight: the ranking loss's weight beside the retrieval loss (without the adaptive weighter).
    adaptive_every: what the adaptive weighter's loss ratios compare: "epoch" = each epoch's mean losses with the
      previous epoch's (weights fixed for an epoch: Dynamic Weight Average's definition), "step" = each step's losses
      with the step before (length-grouped batches of different lengths make that ratio swing by batch, not by progress:
      BENCHMARKS.md, "ML-100K, session 47").
    in_batch_negatives: the other rows' targets are negatives of the retrieval loss too (else uniform only).
    readout: "ret" | "last_event" (no-query requests read the last event's state; the dense loss
    then trains that state at every prefix, read at "history" = where inference reads).
    device: "cpu" | "cuda[:N]" | "auto"; the exported bundle is always computed and checked on CPU.
    search_queries: "path" | "one" (search.py): a `search_fraction` of the training events become
    search events with a category query, and the search test runs after the recommendation test.
    exclude_seen: with full_softmax, the items a user has already seen (earlier in the same history) are
    left out of each target's softmax, as the evaluation leaves them out of the ranking.
    tied_next: with dense_loss and full_softmax, each prefix's positives are its next event and up to
    tied_next - 1 later events with that event's timestamp, each left out of the others' softmax
    (losses.tied_full_softmax_loss): events with equal timestamps have no order, so none of them is
    "the" next one (MovieLens: half of a user's consecutive ratings share their second). 1: the next event.
    tie_positions: events with one timestamp share one rotary position (ModelConfig.tie_positions), so
    the model cannot read the log's order inside a second either; needs timestamps.
    shuffle_ties: each epoch the training events inside every second come in a fresh random order
    (data.shuffled_within_seconds), so no order inside a second is learned, while validation and test read the
    log's; needs timestamps.
    query_time: "next": each event's query at the time of the prediction made at it, the next event's
    (ModelConfig.query_time; HSTU's relative time bias); "own": at its own time. Needs a time signal.
    absolute_time_days: > 0: each event's token also reads when the prediction made at it is made, in buckets of this
    many days (ModelConfig.absolute_time_buckets, absolute_time_buckets()); needs timestamps; the bundle's encode graph
    then takes the request's time too (export.REQUEST_TIME).
    time_scale: with time_signal "rope", the time pairs turn with log-age ("log") or with age itself
    ("linear": their angles then depend on two events' time difference only; model.TimeRotary).
    time_rope_fraction: with time_signal "rope", the share of each head's rotary pairs that turn with time (the rest
    turn with position; ModelConfig.time_rope_fraction).
    time_rope_slowest: with time_signal "rope" on the log time scale, > 0 spreads the time pairs' frequencies
    geometrically from 1 down to this (radians per unit of log1p(age in minutes)); 0 halves them from 1 (model.TimeRotary).
    checkpoint: a file written after every complete epoch; when it exists, the run resumes after its
    last epoch (checkpoint.py; settings other than MAY_CHANGE_ON_RESUME must be the same).
    rerank_top: M > 0 also tests the order a served request returns, the retrieval's top M reordered by
    the ranking head (evaluate.ServedWindows): by the head alone (metrics "rerank<M>_hr@10", ...) and by
    the head blended with the retrieval similarity ("blend<M>_hr@10", ...).
    retrieval_weight: that blend's weight, written into the bundle as the plugin's default; None = the
    one of evaluate.RETRIEVAL_WEIGHTS with the best validation NDCG@10 of the served order (0 without
    rerank_top).
    co_occurrence: N > 0 adds the co-occurrence prior to the served blend (cooccurrence.py): counted over the training
    events, each item's N most frequent partners kept, exported into the bundle; needs rerank_top.
    co_occurrence_span: 0 counts items logged in the same second and reads the request's latest second (needs
    timestamps); K > 0 counts items logged at most K events apart and reads the request's last K events.
    co_occurrence_weight: its weight in the blend; None = chosen on validation NDCG@10 together with the
    retrieval weight, unless that is given (served_co_occurrence_weight: the blend then has w > 0)."""
    settings = {k: v for k, v in locals().items()  # first: the arguments only
                if k not in MAY_CHANGE_ON_RESUME and not (k in ADDED_LATER and v == ADDED_LATER[k])}
    if not adaptive_weights:
        settings.pop("adaptive_every", None)  # means nothing without the weighter: no reason to refuse a resume
    if adaptive_every not in ("epoch", "step"):
        raise ValueError(f"adaptive_every is epoch or step, not {adaptive_every!r}")
    if query_time == "next" and time_signal == "none":
        raise ValueError("query_time next moves the queries in time, but time_signal none gives the model no time: "
                         "it would train exactly the model without it")
    if item_id_dropout and not item_text:
        raise ValueError("item_id_dropout leaves items with their text alone, but this model has no item text: "
                         "they would be left with nothing")
    if co_occurrence < 0 or (co_occurrence and not rerank_top):
        raise ValueError(f"co_occurrence is the neighbours kept per item (>= 0), a term of the served order that needs "
                         f"its window (rerank_top > 0); not {co_occurrence} with rerank_top {rerank_top}")
    if co_occurrence_weight and retrieval_weight == 0:
        raise ValueError(f"co_occurrence_weight {co_occurrence_weight} needs a blend, but the retrieval weight is 0: the "
                         "ranking head alone is served as a probability, with no co-occurrence term")
    if co_occurrence_span and not co_occurrence:
        raise ValueError(f"co_occurrence_span {co_occurrence_span} says how to count the co-occurrence prior, but "
                         "co_occurrence is 0: there is no prior to count")
    if co_occurrence_span < 0:
        raise ValueError(f"co_occurrence_span is how many events apart two items count as logged together (0: in one "
                         f"second), not {co_occurrence_span}")
    if co_occurrence and not co_occurrence_span and len({e.timestamp for e in events}) < 2:
        raise ValueError("co_occurrence counts items logged in the same second, but these events have no timestamps "
                         "(order only): every event would share one second; count items a few events apart instead "
                         "(co_occurrence_span, e.g. 5)")
    if not 0.0 <= time_rope_fraction <= 1.0:
        raise ValueError(f"time_rope_fraction is a share of the rotary pairs, from 0 to 1, not {time_rope_fraction}")
    if time_rope_fraction != ADDED_LATER["time_rope_fraction"] and time_signal != "rope":
        raise ValueError(f"time_rope_fraction shares the rotary pairs between position and time, which only the time "
                         f"signal rope does, not {time_signal!r}")
    if time_rope_slowest != ADDED_LATER["time_rope_slowest"] and not (
            time_signal == "rope" and time_scale == "log" and 0.0 < time_rope_slowest <= 1.0):
        raise ValueError(f"time_rope_slowest is the log time scale's slowest time frequency, above 0 and at most the "
                         f"fastest (1), with time_signal rope and time_scale log; not {time_rope_slowest} with "
                         f"{time_signal!r} and {time_scale!r}")
    if not 0.0 <= item_id_dropout < 1.0:
        raise ValueError(f"item_id_dropout is a probability below 1, not {item_id_dropout}")
    if search_log_out and not search_queries:
        raise ValueError("search_log_out writes the search test's requests, but without search_queries there is no "
                         "search test: set search_queries (path or one)")
    if exclude_seen and not full_softmax:
        raise ValueError("exclude_seen needs full_softmax: it leaves items out of the softmax over the whole catalogue")
    if tied_next < 1 or (tied_next > 1 and not (dense_loss and full_softmax)):
        raise ValueError("tied_next is a count >= 1, and above 1 it needs dense_loss and full_softmax: it gives the dense "
                         "next-item loss's softmax over the whole catalogue several positives")
    if enhancer and dense_loss and target_weight == 0 and not full_softmax:
        # With the dense loss alone there is no example-level loss for the enhancer to reweight; it then
        # adds its favourites to a softmax over the whole catalogue (objective.Enhancer.favourites_loss).
        # Accepted without one, it would train exactly the model without it (measured: session 8).
        raise ValueError("enhancer with the dense loss alone (target_weight 0) needs full_softmax: it acts on the "
                         "example-level retrieval loss, which target_weight 0 does not compute, or adds its favourites "
                         "to a full softmax")
    torch.manual_seed(seed)
    # One thread = bit-reproducible runs (measured: 2 intra-op threads drift ~1e-7 run to run).
    torch.set_num_threads(threads)
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    t_start = time.time()

    actions = action_list(events)
    index = item_index(items)
    vocab = build_vocab(items, events)
    unknown = [e.item_id for e in events if e.item_id not in index]
    if len(unknown) == len(events):
        raise ValueError(f"none of the {len(events)} events names an item of the items file (events' item ids "
                         f"{sorted(set(unknown))[:3]}, items' {[it.item_id for it in items[:3]]}): "
                         "are both files from the same catalogue?")
    seqs = group_by_user(events, index, actions, vocab, max_query_tokens)
    split, split_info = make_split(seqs, protocol)
    if not split.valid or not split.test:
        raise ValueError(f"no user has the events that protocol {protocol} holds out (leave-one-out: at least 3 "
                         f"events per user, for training, validation and test): {len(seqs)} users, "
                         f"{len(events) - len(unknown)} events; nothing to select a model on or to test")
    num_items = len(items)
    log(f"data: {len(items)} items, {len(events)} events, {len(seqs)} users, vocab {len(vocab)}, "
        f"actions {actions}, {len(split.train)} training targets")
    if unknown:  # a log usually outlives some of its items; training can only use the known ones
        log(f"dropped {len(unknown)} events whose item is not in the items file "
            f"({len(set(unknown))} item ids, e.g. {sorted(set(unknown))[:3]})")
    log(f"protocol {protocol}: {PROTOCOL_TEXT[protocol]}; history up to {max_history}; "
        f"{equal_timestamp_events(seqs)} events share the previous event's timestamp (kept in file order); "
        + ", ".join(f"{k} {v}" for k, v in split_info.items()))
    if all((s.timestamps == s.timestamps[0]).all() for s in seqs):
        if tied_next > 1:
            raise ValueError("tied_next needs timestamps: in this data every event of a user has the same one (an "
                             "order-only log), so every later event would count as tied with the next")
        if query_time != "own":
            raise ValueError("query_time next needs timestamps: in this data every event of a user has the same one "
                             "(an order-only log), so every event's next time is its own")
        if shuffle_ties:
            raise ValueError("shuffle_ties needs timestamps: in this data every event of a user has the same one (an "
                             "order-only log), so every user's whole log would be shuffled")
        if tie_positions:
            raise ValueError("tie_positions needs timestamps: in this data every event of a user has the same one (an "
                             "order-only log), so every event would get position 0")
        if absolute_time_days:
            raise ValueError("absolute_time_days needs timestamps: an order-only log has no time to read")
    if "dropped_cold" in split_info:
        log(f"beauty filter: dropped {split_info['dropped_cold']} test users with a cold last item and "
            f"{split_info['dropped_seen']} whose last item was already seen; {split_info['test_users']} remain")

    has_negative_labels = any((s.labels == 0).any() for s in seqs)
    if rank_negatives is None:  # UniGRF trains its ranker on labelled events; a log without labels needs sampled 0s
        rank_negatives = 0 if has_negative_labels else 7
    if rank_negatives == 0 and not has_negative_labels:
        raise ValueError("rank_negatives 0 trains the ranker on labelled events only, but no event has a negative "
                         "label (e.g. a MovieLens rating < 4): it would see positives only")
    if "auc" in select_on and not has_negative_labels:
        raise ValueError(f"select_on {select_on} needs the validation AUC, but no event has a negative label (e.g. a "
                         f"MovieLens rating < 4): select on ndcg@10")
    if dense_rank and not has_negative_labels:
        raise ValueError("dense_rank ranks the logged events (unlabelled = positive), but no event has a negative "
                         "label: it would see positives only")
    log("ranking loss on: " + ("the labelled target events only" if rank_negatives == 0 else
                               f"each target (unlabelled = positive) + {rank_negatives} random items labelled 0")
        + (" + every labelled history event after its own prefix" if dense_rank else ""))
    queries = None
    if search_queries:
        queries = ItemQueries(items, vocab, search_queries, max_query_tokens)
        n_search = attach_training_queries(seqs, split.train, queries, search_fraction, rng)
        log(f"search: {n_search} of {len(split.train)} training events carry a category query "
            f"(style {search_queries}); validation and test events carry none")

    has_search = any((s.query_tokens > 0).any() for s in seqs)
    if has_search and dense_loss and target_weight == 0 and not dense_search:
        raise ValueError("the log has search events, but the dense loss alone (target_weight 0) without dense_search "
                         "never reads a request with a query: the model's search path would stay untrained")
    searched_at = "; searched events after their query, at RET" if has_search and dense_search else ""

    cfg = ModelConfig(num_items=num_items, vocab_size=len(vocab), num_actions=len(actions),
                      max_item_tokens=max_item_tokens, d_model=d_model, layers=layers, heads=heads,
                      embedding_dim=d_model, mlp_hidden=round(mlp_ratio * d_model), block=block,
                      time_signal=time_signal, item_text=item_text, action_input=action_input, dropout=dropout,
                      attention_dropout=attention_dropout,
                      norm=norm, mlp=mlp, item_init_std=item_init_std, position_init_std=position_init_std,
                      similarity=similarity, readout=readout,
                      tied_embeddings=tied_embeddings, input_scale=input_scale,
                      recency_positions=recency_positions, time_scale=time_scale, tie_positions=tie_positions,
                      time_rope_fraction=time_rope_fraction, time_rope_slowest=time_rope_slowest,
                      query_time=query_time, **absolute_time_buckets(seqs, split.train, absolute_time_days))
    if readout == "last_event":
        dense_readout = "history"  # each event's own state is where a no-query request is read: no prefix pass
    if similarity == "dot":
        temperature = 1.0  # dot-product logits are not rescaled
    log(f"model: block {cfg.block}, time signal {cfg.time_signal}, item text {cfg.item_text}, "
        f"action input {cfg.action_input}, "
        f"similarity {cfg.similarity}, readout {cfg.readout}, tied {cfg.tied_embeddings}, input scale {cfg.input_scale}, "
        f"recency positions {cfg.recency_positions}" + (", tied events share a position" if tie_positions else "")
        + (", queries at the next event's time" if query_time == "next" else "")
        + (f", absolute time in {cfg.absolute_time_buckets} buckets of {absolute_time_days:g} days"
           if cfg.absolute_time_buckets else "")
        + f", d_model {d_model}, layers {layers}, heads {heads}, "
        f"norm {cfg.norm}, mlp {cfg.mlp} {cfg.mlp_hidden}, dropout {dropout} (attention {attention_dropout}), Adam beta2 {adam_beta2}; losses: "
        + ("full softmax" + (" without the seen items" if exclude_seen else "")
           + (f", the next event and up to {tied_next - 1} tied with it positive" if tied_next > 1 else "") if full_softmax else f"sampled softmax ({negatives} negatives" + (" + in-batch)" if in_batch_negatives else ")")) + f" + {rank_loss}"
        + (f" + dense next-item (read at {dense_readout}{searched_at})" if dense_loss else "") + (" + enhancer" if enhancer else "")
        + (f" + adaptive weights (per {adaptive_every})" if adaptive_weights else ""))
    model = GenRecModel(cfg, torch.from_numpy(item_token_table(items, vocab, max_item_tokens))).to(dev)
    if cfg.time_signal == "rope":
        log(f"time-aware RoPE: {model.rotary.inv_freq_time.numel()} of each head's {cfg.head_dim // 2} rotary pairs turn "
            f"with time ({cfg.time_scale} scale, frequencies "
            f"{', '.join(f'{f:.3g}' for f in model.rotary.inv_freq_time.tolist())}), the rest with position")
    log(f"device: {dev}" + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else f", {threads} threads"))
    rate = matmul_rate(dev)
    log(f"matmul rate {rate / 1e9:.1f} GFLOP/s (torch, 1024^3 float32): the yardstick of each epoch's FLOP utilisation")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, adam_beta2), weight_decay=weight_decay)
    train_examples = np.asarray(split.train)
    training_positions = last_training_positions(split.train)
    if sampling == "users":
        train_examples = user_examples(train_examples)
        examples_per_epoch = len(train_examples)
    elif sampling != "examples":
        raise ValueError(f"unknown sampling {sampling!r}")
    if dense_divisor not in ("batch", "fixed"):
        raise ValueError(f"unknown dense_divisor {dense_divisor!r}: batch | fixed")
    dense_per = rank_per = None  # each batch's own count; without a dense loss there is nothing to divide
    if dense_divisor == "fixed" and (dense_loss or dense_rank):
        per = dense_targets_per_batch(train_examples, batch_size, max_history)
        if dense_loss:
            dense_per = per
            log(f"dense loss divided by a fixed {dense_per:.1f} targets per batch (not each batch's own count)")
        if dense_rank:
            # The ranked history events (one per dense target) + each row's target and its random negatives.
            # Left as a batch mean, the ranking loss would outweigh the retrieval loss in short batches and
            # trail it in long ones (ML-100K, 3 seeds: AUC .797 as a batch mean, .8015 so; BENCHMARKS.md session 16).
            rank_per = per + batch_size * (1 + rank_negatives)
            log(f"dense ranking BCE divided by a fixed {rank_per:.1f} entries per batch")
    objective = Objective(
        num_items=num_items, temperature=temperature, negatives=negatives, full_softmax=full_softmax,
        in_batch_negatives=in_batch_negatives, dense_loss=dense_loss, dense_readout=dense_readout,
        dense_weight=dense_weight, target_weight=target_weight,
        enhancer=Enhancer(enhancer_top, enhancer_hard, favourite_threshold, favourite_weight) if enhancer else None,
        rank_negatives=rank_negatives, rank_loss=rank_loss, pairwise_weight=pairwise_weight, dense_rank=dense_rank,
        dense_per=dense_per, rank_per=rank_per, dense_search=dense_search, exclude_seen=exclude_seen, tied_next=tied_next,
        item_id_dropout=item_id_dropout)

    weighter = AdaptiveLossWeighter(2, adaptive_temperature) if adaptive_weights else None
    average = WeightAverage(model, weight_average_epochs) if weight_average_epochs else None

    def judged(m: torch.nn.Module):
        """The weights validation reads: the average's, when there is one."""
        return average.applied(m) if average is not None else contextlib.nullcontext()

    history: list[dict] = []
    best = (-1.0, 0, None)
    first_epoch, stopped_early, resumed_at = 1, False, []
    fingerprint = data_fingerprint(items, events) if checkpoint or export else None  # hashes every event: once
    run = RunCheckpoint(checkpoint, {**settings, "data": fingerprint}) if checkpoint else None
    if run is not None and (saved := run.load()) is not None:
        history, best, stopped_early, first_epoch = restore_epoch_state(saved, model, opt, rng)
        if weighter is not None:
            weighter.prev, weighter.last = saved["weighter"]
        if average is not None:
            average.restore(saved["weight_average"])
        resumed_at = saved["resumed_at"] + [first_epoch]
        t_start -= saved["seconds"]  # train_seconds counts the earlier starts too
        log(f"resumed from {checkpoint} after epoch {saved['epoch']} (best so far: epoch {best[1]}, "
            f"validation {select_on} {best[0]:.4f}; {saved['seconds']:.0f}s of earlier training)"
            + ("; that run had already stopped early: no more training" if stopped_early else ""))

    def save_checkpoint(epoch: int) -> None:
        """After a complete epoch: everything the next one depends on."""
        run.save(epoch_state(epoch, model, opt, rng, history, best, stopped_early,
                             weighter=(weighter.prev, weighter.last) if weighter is not None else None,
                             weight_average=average.state() if average is not None else None,
                             seconds=time.time() - t_start, resumed_at=resumed_at))

    def train_step(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        l_ret, l_rank = objective(model, batch, rng)
        if weighter is not None:
            w = weighter.weights()
            loss = w[0] * l_ret + w[1] * l_rank
            if adaptive_every == "step":
                weighter.update(torch.stack([l_ret.detach(), l_rank.detach()]))
        else:
            loss = l_ret + rank_weight * l_rank
        opt.zero_grad()
        loss.backward()
        opt.step()
        return l_ret, l_rank

    step_flops = StepFlops()
    with StopRequest(log) as stop:
        for epoch in range(first_epoch, (0 if stopped_early else epochs) + 1):
            model.train()
            t0 = time.time()
            sums = np.zeros(2)
            steps = flops = 0
            batches = epoch_batches(train_examples, examples_per_epoch, batch_size, max_history, rng,
                                    pool=LENGTH_POOL if length_grouping else 0)
            # its own generator per epoch: the run's other draws stay as without the switch, and a resume repeats it
            train_seqs = (shuffled_within_seconds(seqs, training_positions, np.random.default_rng([seed, epoch]))
                          if shuffle_ties else seqs)
            for chunk in batches:
                batch = {k: v.to(dev) for k, v in make_batch(train_seqs, chunk, max_history).items()}
                (l_ret, l_rank), step_flop = step_flops.run(StepFlops.shape_of(batch), lambda: train_step(batch))
                flops += step_flop
                if average is not None:
                    average.update(model, len(batches))
                sums += [l_ret.item(), l_rank.item()]
                steps += 1
                if progress_every and steps % progress_every == 0:
                    log(f"  epoch {epoch} step {steps}/{len(batches)}: retrieval {sums[0] / steps:.4f} "
                        f"ranking {sums[1] / steps:.4f} ({time.time() - t0:.0f}s)")
                if stop.requested:
                    break
            partial = steps < len(batches)  # stopped mid-epoch: validated and tested, never checkpointed
            steps = max(steps, 1)
            if weighter is not None and adaptive_every == "epoch" and not partial:
                weighter.update(torch.tensor(sums / steps))
            achieved = flops / max(time.time() - t0, 1e-9)  # the steps only: validation is not counted
            record = {"epoch": epoch, "lr": opt.param_groups[0]["lr"], "retrieval_loss": sums[0] / steps,
                      "ranking_loss": sums[1] / steps,
                      "train_gflop": flops / 1e9, "train_gflop_per_s": achieved / 1e9, "matmul_utilisation": achieved / rate}
            utilisation = f"{achieved / 1e9:.1f} GFLOP/s = {achieved / rate:.0%} of matmul"
            if objective.enhancer is not None:
                record.update(selected := objective.enhancer.take_counts())
                log(f"  enhancer: {selected['favourites_per_request']:.2f} potential favourites and "
                    f"{selected['hard_per_request']:.2f} hard negatives per request")
            if weighter is not None:
                low, mean, high = weighter.take_range()
                for i, task in enumerate(("retrieval", "ranking")):
                    record[f"{task}_loss_weight"] = {"min": low[i].item(), "mean": mean[i].item(), "max": high[i].item()}
                log(f"  adaptive loss weights: retrieval {low[0]:.3f}..{high[0]:.3f} (mean {mean[0]:.3f}), "
                    f"ranking {low[1]:.3f}..{high[1]:.3f} (mean {mean[1]:.3f})")
            if epoch % eval_every and epoch != epochs and not stop.requested:
                history.append({**record, "seconds": time.time() - t0})
                log(f"epoch {epoch}: retrieval {sums[0] / steps:.4f} ranking {sums[1] / steps:.4f} | {utilisation} "
                    f"({time.time() - t0:.1f}s)")
                if run is not None:
                    save_checkpoint(epoch)
                continue
            with judged(model):
                val = evaluate(model, seqs, split.valid, max_history)
                score = selection_score(val, select_on)
                if score > best[0] and select_best:
                    best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.append({**record, **{f"valid_{k}": v for k, v in val.items() if k != "users"},
                            "seconds": time.time() - t0})
            log(f"epoch {epoch}: retrieval {sums[0] / steps:.4f} ranking {sums[1] / steps:.4f} | valid "
                f"hr@10 {val['hr@10']:.4f} ndcg@10 {val['ndcg@10']:.4f} mrr {val['mrr']:.4f} auc {val['auc']:.4f} "
                f"| {utilisation} ({time.time() - t0:.1f}s)")
            if score > best[0]:
                best = (score, epoch, best_weights if select_best else None)
            elif patience and epoch - best[1] >= patience * eval_every:
                log(f"early stop: no better validation {select_on} in {patience} evaluations")
                stopped_early = True
            elif decays_now(epoch, best[1], eval_every, lr_decay_patience):
                for group in opt.param_groups:
                    group["lr"] *= lr_decay
                log(f"learning rate {opt.param_groups[0]['lr']:.3g}: no better validation in {lr_decay_patience} "
                    "evaluations")
            if run is not None and not partial:
                save_checkpoint(epoch)
            if stop.requested:
                log(f"stopped on request in epoch {epoch}" + (f"; the same command resumes from {checkpoint}"
                                                              if run is not None else ""))
                break
            if stopped_early:
                break
        stop.training_over()  # a signal from here on would otherwise end the run before its test
        if select_best and best[2] is not None:
            model.load_state_dict(best[2])
            log(f"model selection: epoch {best[1]} (best validation {select_on} {best[0]:.4f})"
                + (f", its weights averaged over ~{weight_average_epochs:g} epochs" if average is not None else ""))
        elif average is not None:
            model.load_state_dict(average.average, strict=False)  # the weights validated, tested and exported
        co_table = (CoOccurrence.count(seqs, training_positions, len(items), co_occurrence,
                                       co_occurrence_span)
                    if co_occurrence else None)
        # the validation requests' served windows, encoded once for both weights (None: no window or no validation)
        valid_windows = None
        if rerank_top and split.valid:
            valid_windows = functools.cache(lambda: evaluate_served_windows(model, seqs, split.valid, max_history, rerank_top,
                                                                            co_occurrence=co_table))
        retrieval_weight, weight_chosen_on, weights_tried = served_retrieval_weight(valid_windows, rerank_top,
                                                                                    retrieval_weight, log)
        co_weights_tried = None
        if co_table is not None:
            retrieval_weight, co_occurrence_weight, co_weights_tried = served_co_occurrence_weight(
                valid_windows, co_table, retrieval_weight, weight_chosen_on == "given", co_occurrence_weight, log)
        # the order a served request returns, as the bundle will serve it: the same for recommendation and search
        served = dict(rerank_top=rerank_top, retrieval_weight=retrieval_weight, co_occurrence=co_table,
                      co_occurrence_weight=co_occurrence_weight or 0.0)
        test = evaluate(model, seqs, split.test, max_history, cold_items=item_text, **served)
        if new_history_items and item_text:
            test |= evaluate_new_history_items(model, seqs, split.test, max_history, new_history_items, seed=seed + 2)
        train_seconds = time.time() - t_start
        metrics = {k: round(v, 4) for k, v in test.items() if k != "users"}
        log(f"test ({int(test['users'])} users): " + json.dumps(metrics) + f" | trained in {train_seconds:.1f}s")
        search = None
        if queries is not None:
            search = evaluate_search(model, seqs, split.test, split.train, items, queries, max_history,
                                     np.random.default_rng(seed + 1), served, log_out=search_log_out, action_names=actions)
            if search_log_out:
                log(f"search test requests written to {search_log_out} (genrec-tools evaluate --protocol loo reads them)")
            blend = f"blend{rerank_top}_"
            for ranker, m in search.items():
                log(f"search test, {ranker}: " + " ".join(f"{k} {m[k]:.4f}" for k in ("hr@10", "ndcg@10", "hr@50", "mrr"))
                    + (f" | served order {m[blend + 'hr@10']:.4f} {m[blend + 'ndcg@10']:.4f}" if blend + "hr@10" in m else ""))
                metrics.update({f"search_{ranker}_{k}": round(v, 4) for k, v in m.items()
                                if k in ("hr@10", "ndcg@10", blend + "hr@10", blend + "ndcg@10",
                                         blend + "without_prior_hr@10", blend + "without_prior_ndcg@10")})
        if metrics_out:
            Path(metrics_out).parent.mkdir(parents=True, exist_ok=True)
            Path(metrics_out).write_text(json.dumps(finite_or_null({
                "data": data_desc, "protocol": protocol, "protocol_text": PROTOCOL_TEXT[protocol], "split": split_info,
                "max_history": max_history, "config": cfg.to_dict(), "seed": seed, "epochs": epochs,
                "epochs_run": history[-1]["epoch"],
                # why training ended: a table of runs must not average an interrupted run with finished ones unmarked
                "ended": "patience" if stopped_early else "request" if stop.requested else "epochs",
                "selected_epoch": best[1] if select_best else history[-1]["epoch"], "select_on": select_on,
                "rank_loss": rank_loss, "rank_weight": rank_weight, "target_weight": target_weight, "dense_rank": dense_rank, "enhancer": enhancer,
                "adaptive_weights": adaptive_weights, "adaptive_every": adaptive_every if adaptive_weights else None,
                "dense_loss": dense_loss,
                "dense_readout": dense_readout if dense_loss else None, "sampling": sampling, "length_grouping": length_grouping,
                "dense_divisor": dense_divisor, "dense_search": dense_search, "exclude_seen": exclude_seen, "item_id_dropout": item_id_dropout,
                "retrieval_weight": retrieval_weight, "retrieval_weight_valid_ndcg@10": weights_tried,
                "co_occurrence": co_occurrence, "co_occurrence_weight": co_occurrence_weight if co_occurrence else None,
                "co_occurrence_span": co_occurrence_span if co_occurrence else None,
                "co_occurrence_weight_valid_ndcg@10": co_weights_tried,
                "tied_next": tied_next, "shuffle_ties": shuffle_ties, "full_softmax": full_softmax, "in_batch_negatives": in_batch_negatives, "negatives": negatives, "rank_negatives": rank_negatives, "lr": lr,
                "lr_decay_patience": lr_decay_patience, "lr_decay": lr_decay if lr_decay_patience else None,
                "weight_average_epochs": weight_average_epochs,
                "weight_decay": weight_decay, "adam_beta2": adam_beta2,
                "batch_size": batch_size, "examples_per_epoch": examples_per_epoch, "search_queries": search_queries,
                "search_fraction": search_fraction if search_queries else None,
                "search": {r: {k: round(v, 5) for k, v in m.items()} for r, m in search.items()} if search else None,
                "test": {k: round(v, 5) for k, v in test.items()},
                "train_seconds": round(train_seconds, 1), "threads": threads, "resumed_at_epochs": resumed_at,
                "history": history}), indent=1, allow_nan=False) + "\n")
        if ranks_out:
            write_example_ranks(ranks_out, example_ranks(model, seqs, split.test, max_history), seqs, items)
        if scores_out:
            write_example_scores(scores_out, model, seqs, split, max_history)
        if curves:
            plot_curves(history, curves, title=f"{data_desc} | {cfg.block}/{cfg.time_signal}/text={cfg.item_text}")
            log(f"curves written to {curves}")
        if not export:
            return metrics

        model.cpu()  # the bundle's golden vectors come from the CPU model, as the Java runtime's CPU path runs it
        golden = default_golden_requests(items, events, actions, max_history, seed=seed)
        export_bundle(model, out, items=items, vocab=vocab, actions=actions, max_history=max_history,
                      max_query_tokens=max_query_tokens, model_id=model_id, model_version=model_version,
                      golden_requests=golden, ranking={"retrieval_weight": retrieval_weight, "window": rerank_top,
                                                       "chosen_on": weight_chosen_on},
                      co_occurrence=(co_table, co_occurrence_weight) if co_table is not None else None,
                      new_history_items=item_text and item_id_dropout > 0,
                      training={"data": data_desc, "data_fingerprint": fingerprint, "seed": seed,
                                "epochs": epochs, "item_id_dropout": item_id_dropout,
                                "protocol": protocol, "protocol_text": PROTOCOL_TEXT[protocol],  # what the metrics mean
                                "metrics": metrics})  # no timings: keep the bundle byte-reproducible
        log(f"bundle written to {out}")
        return metrics


def served_retrieval_weight(windows: Callable[[], ServedWindows] | None, top: int, given: float | None,
                            log: Callable[[str], None]) -> tuple[float, str, dict[float, float] | None]:
    """The served order's blend weight (evaluate.ServedWindows): `given`, else the one with the best
    validation NDCG@10 of the retrieval's top `top` reordered, windows() (0 when there is no window or no
    validation: windows None). Returns it, how it was chosen and, when chosen, the validation NDCG@10 of every
    weight tried."""
    if given is not None:
        return given, "given", None
    if windows is None:
        return 0.0, "default (no validation window)", None
    weight, tried = choose_retrieval_weight(windows())
    log(f"served order: retrieval weight {weight:g} chosen on validation (NDCG@10 of the top {top} reordered by the "
        f"ranking head: {tried[0.0]:.4f} alone, {tried[weight]:.4f} blended)")
    return weight, "validation ndcg@10", tried


def last_training_positions(train: Sequence[tuple[int, int]]) -> dict[int, int]:
    """user -> the position of their last training target: the events a count over the training log may read
    (validation and test events never do)."""
    last: dict[int, int] = {}
    for u, t in train:
        last[u] = max(t, last.get(u, -1))
    return last


def served_co_occurrence_weight(windows: Callable[[], ServedWindows] | None, table: CoOccurrence, retrieval_weight: float,
                                retrieval_weight_given: bool, given: float | None,
                                log: Callable[[str], None]) -> tuple[float, float, dict[str, float] | None]:
    """The served order's retrieval and co-occurrence weights: each `given` one as given, the others chosen
    together on the validation NDCG@10 of the blend, windows() (evaluate.choose_served_weights; the co-occurrence
    weight 0 without validation: windows None). Returns both and, when chosen, every pair's validation NDCG@10."""
    together = f"at most {table.span} events apart" if table.span else "in the same second"
    log(f"co-occurrence: {len(table.neighbours)} pairs of items logged {together} kept from the training events "
        f"(at most {int(np.diff(table.offsets).max(initial=0))} per item)")
    if retrieval_weight == 0 and (retrieval_weight_given or windows is None):
        # the ranking head alone is a probability; the runtime adds no term to it (RankingScores)
        log("served order: the ranking head alone (retrieval weight 0), so no co-occurrence term")
        return 0.0, 0.0, None
    if given is not None and retrieval_weight_given:
        return retrieval_weight, given, None
    if windows is None:
        return retrieval_weight, 0.0, None
    w, v, tried = choose_served_weights(windows(), (retrieval_weight,) if retrieval_weight_given else RETRIEVAL_WEIGHTS[1:],
                                        CO_OCCURRENCE_WEIGHTS if given is None else (given,))
    log(f"served order: retrieval weight {w:g} and co-occurrence weight {v:g} chosen on validation (NDCG@10 of the "
        f"blend {tried[f'{w:g},{v:g}']:.4f}" + (f", {tried[f'{w:g},0']:.4f} without the prior)" if f"{w:g},0" in tried else ")"))
    return w, v, tried


def main(argv: Sequence[str] | None = None) -> None:
    # --recipe is read first, on its own, because it sets the defaults of the full command line below
    recipe_only = argparse.ArgumentParser(add_help=False)
    recipe_only.add_argument("--recipe", choices=sorted(RECIPES), default="small",
                             help="small: the quick model of the tests and the demo; quality: the recipe of "
                                  "BENCHMARKS.md's figures (recipes.py); flags given explicitly override the recipe's")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                parents=[recipe_only])
    p.add_argument("--dataset", choices=["synthetic", *DATASETS], help="built-in dataset / adapter")
    p.add_argument("--data-dir", help="folder with the dataset's files (ml-100k, ml-1m, beauty, scientific)")
    p.add_argument("--events", help="events file: JSON lines, CSV or Parquet (user_id, item_id, action, timestamp, "
                                    "query?, label?)")
    p.add_argument("--items", help="items file: JSON lines, CSV or Parquet (item_id, title, categories)")
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
    p.add_argument("--protocol", choices=["auto", "loo", "movielens", "beauty"], default="auto",
                   help="auto: movielens for ml-*, beauty for beauty/scientific, loo otherwise")
    p.add_argument("--preset", choices=sorted(PRESETS), default="ours")
    p.add_argument("--block", choices=["softmax", "hstu"], help="override the preset's block")
    p.add_argument("--time-signal", choices=["rope", "none", "bucket"], help="override the preset's time signal")
    p.add_argument("--item-text", choices=["on", "off"], help="override the preset's item text")
    p.add_argument("--action-input", choices=["on", "off"], default="on",
                   help="off: event tokens carry no action (MovieLens: no rating), ids only as the published SASRec "
                        "and HSTU read them; the ranking labels are unchanged")
    p.add_argument("--time-scale", choices=["log", "linear"], default="log",
                   help="time-aware RoPE: time pairs turn with log-age (default) or with age, one turn per period "
                        "from 2 minutes to 4 years (angles then depend on two events' time difference only, the same "
                        "for a prefix in training as for that prefix served as a request)")
    p.add_argument("--time-rope-fraction", type=float, default=0.5,
                   help="time-aware RoPE: the share of each head's rotary pairs that turn with time, the rest with "
                        "position (0.5: half each)")
    p.add_argument("--time-rope-slowest", type=float, default=0.0,
                   help="time-aware RoPE on the log time scale: spread the time pairs' frequencies geometrically from "
                        "1 down to this, in radians per unit of log1p(age in minutes), which spans ~0..13 from a "
                        "minute to years (default 0: halving, 1, 1/2, 1/4, ..., whose slower pairs barely turn)")
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--negatives", type=int, default=512)
    p.add_argument("--rank-negatives", type=int, default=None,
                   help="random items labelled 0 beside each target in the ranking loss; 0 = the labelled events only, "
                        "as UniGRF trains its ranker (needs negative labels, e.g. MovieLens ratings < 4). "
                        "Default: 0 when the log has negative labels, else 7")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--temperature", type=float, default=0.05, help="cosine logits are divided by it")
    p.add_argument("--readout", choices=["ret", "last_event"], default="ret",
                   help="where a request without a query is read: RET, or the last history event's state "
                        "(SASRec's readout; with --dense-loss every prefix trains it in one causal pass)")
    p.add_argument("--no-in-batch-negatives", action="store_true",
                   help="retrieval loss against the uniform negatives only (in-batch positives are popularity-biased)")
    p.add_argument("--recency-positions", type=int, default=0,
                   help="learned embedding per event rank from the latest (SASRec's positions), up to this many; 0: off")
    p.add_argument("--input-scale", type=float, default=1.0,
                   help="item representation x this where it enters the sequence (SASRec: sqrt(d_model))")
    p.add_argument("--tied-embeddings", action="store_true",
                   help="no user/item heads: the final state meets each item's input representation (SASRec)")
    p.add_argument("--similarity", choices=["cosine", "dot"], default="cosine",
                   help="retrieval score: cosine of unit embeddings, or the dot product of unnormalized ones "
                        "(SASRec's; the item index then needs a maximum-inner-product field)")
    p.add_argument("--rank-loss", choices=["bce", "bce+pairwise"], default="bce")
    p.add_argument("--pairwise-weight", type=float, default=1.0)
    p.add_argument("--dense-rank", action=argparse.BooleanOptionalAction, default=None,
                   help="also rank every labelled history event after its own prefix (M-FALCON at every position; "
                        "with --sampling users the ranker otherwise sees one target per user per epoch). "
                        "Default: off; --recipe quality: on when the log has negative labels")
    p.add_argument("--rank-weight", type=float, default=1.0,
                   help="weight of the ranking loss beside the retrieval loss (0: the ranking head is not trained)")
    p.add_argument("--enhancer", action="store_true", help="UniGRF ranking-driven enhancer")
    p.add_argument("--enhancer-top", type=int, default=20)
    p.add_argument("--enhancer-hard", type=int, default=5)
    p.add_argument("--favourite-threshold", type=float, default=0.9)
    p.add_argument("--adaptive-weights", action="store_true", help="UniGRF adaptive loss weighter")
    p.add_argument("--adaptive-temperature", type=float, default=1.0)
    p.add_argument("--adaptive-every", choices=["epoch", "step"], default="epoch",
                   help="the adaptive weighter's loss ratios: epoch means (default) or consecutive steps")
    p.add_argument("--select-best", action="store_true", help="test the epoch with the best validation --select-on")
    p.add_argument("--select-on", choices=list(SELECTION_CRITERIA), default=None,
                   help="validation criterion of --select-best and --patience: ndcg@10 (retrieval), auc "
                        "(ranking) or ndcg@10+auc (their sum: one checkpoint serves both heads). Default: ndcg@10; "
                        "--recipe quality: ndcg@10+auc when the log has negative labels")
    p.add_argument("--curves", help="write a PNG of the per-epoch curves")
    p.add_argument("--metrics-out", help="write test metrics + per-epoch history as JSON")
    p.add_argument("--ranks-out", help="write each test event's rank as JSON lines (scripts/paired_ranks.py pairs "
                                       "two runs' files event by event)")
    p.add_argument("--search-log-out", help="with --search-queries: write the search test's requests as an event log "
                                            "(each test user's events up to the target, with the queries the model read), "
                                            "for genrec-tools evaluate --protocol loo [--first-stage match] on a live node")
    p.add_argument("--scores-out", help="write the validation and test requests' full-catalogue scores as .npz "
                                        "(evaluate.example_scores), to study another score fused with the model's")
    p.add_argument("--progress-every", type=int, default=0, help="log every N steps (0: per epoch only)")
    p.add_argument("--dense-loss", action="store_true",
                   help="also train every history position to predict the next event (SASRec-style)")
    p.add_argument("--dense-weight", type=float, default=1.0)
    p.add_argument("--target-weight", type=float, default=1.0,
                   help="with --dense-loss: weight of the request-level retrieval loss (the example's own target, "
                        "in-batch + uniform negatives); 0 leaves the dense loss alone, every position weighted "
                        "equally (SASRec's objective)")
    p.add_argument("--dense-readout", choices=["history", "ret"], default="history",
                   help="dense loss read at each history event's state or at RET after each prefix")
    p.add_argument("--dropout", type=float, default=0.0, help="training-only dropout (inputs, residual branches)")
    p.add_argument("--attention-dropout", type=float, default=0.0,
                   help="training-only dropout on the attention weights (SASRec applies --dropout there too)")
    p.add_argument("--mlp-ratio", type=float, default=2.0, help="the MLP's hidden width as a multiple of --d-model")
    p.add_argument("--mlp", choices=["swiglu", "gelu"], default="swiglu",
                   help="softmax block's MLP: SiLU-gated, or SASRec's GELU feed-forward (biases, inner dropout)")
    p.add_argument("--norm", choices=["rms", "layer"], default="rms", help="RMSNorm, or SASRec's LayerNorm")
    p.add_argument("--item-init-std", type=float, default=0.1,
                   help="item id embeddings start ~ N(0, this) (SASRec's code: d_model ** -0.5)")
    p.add_argument("--position-init-std", type=float, default=0.1,
                   help="--recency-positions embeddings start ~ N(0, this) (SASRec's: 1)")
    p.add_argument("--adam-beta2", type=float, default=0.999,
                   help="Adam's second-moment decay (SASRec's reference code: 0.98)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--lr-decay-patience", type=int, default=0,
                   help="multiply the learning rate by --lr-decay after every N validations without a better one (0: off)")
    p.add_argument("--lr-decay", type=float, default=0.5)
    p.add_argument("--weight-average-epochs", type=float, default=0.0,
                   help="validate, select, test and export an exponential moving average of the weights over about "
                        "this many epochs (0: the raw weights)")
    p.add_argument("--sampling", choices=["examples", "users"], default="examples",
                   help="examples: --examples-per-epoch random (user, target) pairs; users: each user once per "
                        "epoch with the whole training prefix (SASRec-style epochs, use with --dense-loss)")
    p.add_argument("--dense-divisor", choices=["batch", "fixed"], default="batch",
                   help="the dense loss over each batch's own target count (a mean, SASRec) or over a fixed count "
                        "(the average batch's): with batches of similar lengths every target then weighs alike "
                        "(with --dense-rank, the ranking BCE over its ranked events too)")
    p.add_argument("--no-dense-search", dest="dense_search", action="store_false",
                   help="with --dense-loss: predict every next event without a query, even one reached through a "
                        "search (the ablation; by default that one is predicted after its query, where search "
                        "requests are read)")
    p.add_argument("--item-id-dropout", type=float, default=0.0,
                   help="each step, this share of the items is seen through its text alone, as an item added after "
                        "training is (needs item text; the test's cold_* metrics measure it)")
    p.add_argument("--new-history-items", type=float, default=0.0, metavar="FRACTION",
                   help="test: take this share of the items as added after training and measure the requests whose "
                        "history holds one, read as trained, without those events, and with those items as their "
                        "text alone (newhist_* metrics; models with item text)")
    p.add_argument("--exclude-seen", action="store_true",
                   help="with the full softmax: items the user has already seen are no negatives of the next-item "
                        "loss, as the evaluation excludes them from the ranking (catalogues without repeat events)")
    p.add_argument("--tied-next", type=int, default=1, metavar="N",
                   help="with --dense-loss and the full softmax: the next event and up to N - 1 later events at its "
                        "timestamp are all positives of a prefix (events in one second have no order); 1 = the next "
                        "event only")
    p.add_argument("--tie-positions", action="store_true",
                   help="events with one timestamp share one rotary position (their order inside a second is no "
                        "signal); needs timestamps")
    p.add_argument("--shuffle-ties", action="store_true",
                   help="each epoch, the training events inside every second in a fresh random order (their order "
                        "inside a second is no signal); validation and test keep the log's; needs timestamps")
    p.add_argument("--query-time", choices=["own", "next"], default="own",
                   help="next: each event's query sits at the time of the prediction made at it (the next event's; "
                        "HSTU's relative time bias), its key at its own time; needs a time signal and timestamps")
    p.add_argument("--absolute-time", type=float, default=0.0, metavar="DAYS", dest="absolute_time_days",
                   help="a learned embedding of when each prediction is made, in buckets of DAYS from the training "
                        "log's first event to its last training target (later times share the last bucket); needs "
                        "timestamps. 0 = off: the model reads time only relative to the request")
    p.add_argument("--no-length-grouping", dest="length_grouping", action="store_false",
                   help="random batches instead of batches of similar history lengths (slower; every dense-loss "
                        "target then weighs alike, as in SASRec's training)")
    p.add_argument("--full-softmax", action=argparse.BooleanOptionalAction, default=None,
                   help="retrieval losses over the whole catalogue instead of --negatives uniform samples. "
                        f"Default: off; --recipe quality: on up to {FULL_SOFTMAX_MAX_ITEMS:,} items")
    p.add_argument("--eval-every", type=int, default=1, help="validate every N epochs (and after the last)")
    p.add_argument("--patience", type=int, default=0,
                   help="early stop after N validations without a better validation --select-on (0: off)")
    p.add_argument("--search-queries", choices=["path", "one"],
                   help="personalized search benchmark: training events get category queries (path: the item's "
                        "category path; one: one random category, e.g. a MovieLens genre) and a search test runs")
    p.add_argument("--search-fraction", type=float, default=0.5, help="share of training events made searches")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto (CUDA when present)")
    p.add_argument("--no-export", action="store_true", help="benchmarks: skip writing the bundle")
    p.add_argument("--rerank-top", type=int, default=100,
                   help="also test the served order: the retrieval's top M reordered by the ranking head, alone "
                        "(metrics rerank<M>_hr@10, ...) and blended with the retrieval similarity (blend<M>_...); 0: off")
    p.add_argument("--retrieval-weight", type=float, default=None,
                   help="the served blend's weight of the retrieval similarity, written into the bundle as the plugin's "
                        "default (default: the best of a grid on validation NDCG@10; 0: the ranking head alone)")
    p.add_argument("--co-occurrence", type=int, default=None, metavar="N",
                   help="add the co-occurrence prior to the served order: how often other users logged an item in the "
                        "same second as the request's latest items (or a few events apart: --co-occurrence-span), "
                        f"each item's N most frequent partners kept in the bundle (0: off). Default: off; --recipe "
                        f"quality: {QUALITY_CO_OCCURRENCE} while the served order is tested (--rerank-top > 0)")
    p.add_argument("--co-occurrence-weight", type=float, default=None,
                   help="that prior's weight in the served order (default: the best of a grid on validation NDCG@10)")
    p.add_argument("--co-occurrence-span", type=int, default=None, metavar="K",
                   help="count items logged at most K events apart, and read the request's last K events, instead of "
                        "the same second (0: by second, which needs timestamps). Default: 0 on a log with timestamps, "
                        f"{QUALITY_CO_OCCURRENCE_SPAN} on a log in order only")
    p.add_argument("--checkpoint", help="write the run's state here after every epoch; if the file exists, resume "
                                        "after its last epoch (same settings; --epochs/--patience may grow)")
    p.set_defaults(**RECIPES[recipe_only.parse_known_args(argv)[0].recipe])  # defaults only: explicit flags win
    args = p.parse_args(argv)

    has_ts = True
    if args.dataset == "synthetic":
        items, events = synthetic.generate(seed=args.seed, num_users=args.users, num_items=args.num_items)
        desc = f"synthetic(seed={args.seed}, users={args.users}, items={args.num_items})"
    elif args.dataset:
        if not args.data_dir:
            p.error(f"--dataset {args.dataset} needs --data-dir")
        ds = load_dataset(args.dataset, args.data_dir)
        items, events, has_ts = ds.items, ds.events, ds.has_timestamps
        desc = f"{args.dataset}({args.data_dir}" + (f"; {ds.notes}" if ds.notes else "") + ")"
    elif args.events and args.items:
        ds = load_generic(args.events, args.items)
        items, events, has_ts = ds.items, ds.events, ds.has_timestamps
        desc = f"events={args.events}, items={args.items}"
    else:
        p.error("give --dataset NAME (with --data-dir), or both --events and --items")
    protocol = args.protocol
    if protocol == "auto":
        protocol = {"ml-100k": "movielens", "ml-1m": "movielens", "beauty": "beauty",
                    "scientific": "beauty"}.get(args.dataset or "", "loo")
    arch = dict(PRESETS[args.preset])
    if arch["time_signal"] == "bucket" and not has_ts:
        arch["time_signal"] = "none"  # order-only data: a time-bucket bias would see only age 0
    if args.block:
        arch["block"] = args.block
    if args.time_signal:
        arch["time_signal"] = args.time_signal
    if args.item_text:
        arch["item_text"] = args.item_text == "on"
    if not has_ts:
        print("data has no timestamps: order only (every age is 0, the time signal carries nothing)")
    by_data = resolve(args.recipe, full_softmax=args.full_softmax, dense_rank=args.dense_rank,
                      select_on=args.select_on, co_occurrence=args.co_occurrence,
                      co_occurrence_span=args.co_occurrence_span, catalogue_size=len(items),
                      has_negative_labels=any(e.label == 0 for e in events), has_timestamps=has_ts,
                      rerank_top=args.rerank_top)
    if args.recipe != "small":
        print(f"recipe {args.recipe} on this data: {by_data.summary()}")
    train(items, events, out=args.out, data_desc=desc, seed=args.seed, epochs=args.epochs,
          model_id=args.model_id or (args.dataset or "custom"), model_version=args.model_version,
          max_history=args.max_history, examples_per_epoch=args.examples_per_epoch,
          threads=args.threads, protocol=protocol, d_model=args.d_model, layers=args.layers, heads=args.heads,
          batch_size=args.batch_size, negatives=args.negatives, rank_negatives=args.rank_negatives, lr=args.lr,
          temperature=args.temperature,
          rank_loss=args.rank_loss, pairwise_weight=args.pairwise_weight, enhancer=args.enhancer,
          enhancer_top=args.enhancer_top, enhancer_hard=args.enhancer_hard,
          favourite_threshold=args.favourite_threshold, adaptive_weights=args.adaptive_weights,
          adaptive_temperature=args.adaptive_temperature, adaptive_every=args.adaptive_every, select_best=args.select_best,
          select_on=by_data.select_on, curves=args.curves,
          metrics_out=args.metrics_out, ranks_out=args.ranks_out, scores_out=args.scores_out,
          search_log_out=args.search_log_out,
          progress_every=args.progress_every, export=not args.no_export,
          dense_loss=args.dense_loss, dense_weight=args.dense_weight,
          dense_readout=args.dense_readout, dropout=args.dropout, attention_dropout=args.attention_dropout,
          mlp_ratio=args.mlp_ratio, adam_beta2=args.adam_beta2, norm=args.norm, mlp=args.mlp,
          item_init_std=args.item_init_std, position_init_std=args.position_init_std,
          weight_decay=args.weight_decay, lr_decay_patience=args.lr_decay_patience, lr_decay=args.lr_decay,
          weight_average_epochs=args.weight_average_epochs,
          item_id_dropout=args.item_id_dropout, new_history_items=args.new_history_items,
          sampling=args.sampling, length_grouping=args.length_grouping,
          dense_divisor=args.dense_divisor, dense_search=args.dense_search, exclude_seen=args.exclude_seen,
          tied_next=args.tied_next, tie_positions=args.tie_positions, shuffle_ties=args.shuffle_ties,
          time_scale=args.time_scale, time_rope_fraction=args.time_rope_fraction,
          time_rope_slowest=args.time_rope_slowest, query_time=args.query_time,
          absolute_time_days=args.absolute_time_days, full_softmax=by_data.full_softmax,
          eval_every=args.eval_every, patience=args.patience, search_queries=args.search_queries,
          search_fraction=args.search_fraction, device=args.device,
          similarity=args.similarity, readout=args.readout,
          tied_embeddings=args.tied_embeddings, in_batch_negatives=not args.no_in_batch_negatives,
          input_scale=args.input_scale, rank_weight=args.rank_weight,
          recency_positions=args.recency_positions, target_weight=args.target_weight,
          dense_rank=by_data.dense_rank, checkpoint=args.checkpoint, action_input=args.action_input == "on",
          rerank_top=args.rerank_top, retrieval_weight=args.retrieval_weight, co_occurrence=by_data.co_occurrence,
          co_occurrence_weight=args.co_occurrence_weight, co_occurrence_span=by_data.co_occurrence_span, **arch)


if __name__ == "__main__":
    main()
