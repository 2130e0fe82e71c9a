"""Named training recipes: the flag set behind BENCHMARKS.md's figures as one flag, `--recipe quality`.

Why: the best recipe measured is ~20 flags (SASRec's way of training our model), and a user training on their
own log should not have to copy them from a benchmark command. A recipe only changes the command line's
defaults, so any flag given explicitly still wins (`--recipe quality --dropout 0.5`).

- "small" (the default): the argparse defaults, the quick model the tests, the fixture bundle and the demo train.
- "quality": the recipe of BENCHMARKS.md's headline figures (ML-100K sessions 13-16, Amazon Beauty sessions 15-16
  with `--dropout 0.5 --patience 15`, ml-1m-part sessions 17-19): each user once per epoch, every history position
  predicts its next item (the dense loss alone), read at the last event's state, tied item embeddings scaled by 8 at
  the input, dot-product retrieval, d_model 64, 2 layers, 1 head, dropout 0.2, Adam at 1e-3 in batches of 128 with
  the fixed dense-loss divisor, up to 300 epochs stopped by a patience of 20 validations, the best validation epoch
  tested and exported.

Four choices of "quality" follow the data unless the command line makes them (resolve()):
- the softmax over the whole catalogue (`--full-softmax`) up to FULL_SOFTMAX_MAX_ITEMS items, sampled negatives
  above (the full softmax's cost grows with the catalogue; the benchmarks' catalogues are 1,682 to 12,101 items);
- the ranking loss on every labelled history event (`--dense-rank`) when the log has negative labels (MovieLens
  ratings < 4), without which it would see positives only;
- model selection on validation NDCG@10 + AUC (one checkpoint for both heads) when the ranker has those labels,
  else on NDCG@10;
- the co-occurrence term in the served order (`--co-occurrence 100`, cooccurrence.py), counted by second when the log
  has timestamps and within QUALITY_CO_OCCURRENCE_SPAN events when it has order only. It lifted the served HR@10 /
  NDCG@10 on every log measured, for our model and SASRec+SS alike (BENCHMARKS.md: ML-100K session 54, Amazon
  Scientific session 55, Amazon Beauty session 56), and its weight is chosen on validation, 0 included, so a log where
  it does not help serves without it. Off when the served order is (`--rerank-top 0`): the term lives in that window.
Outside "quality" the span still follows the data once the term is asked for: `--co-occurrence N` alone on a log in
order only counts within QUALITY_CO_OCCURRENCE_SPAN events, since counting by second needs seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FULL_SOFTMAX_MAX_ITEMS = 20_000
QUALITY_CO_OCCURRENCE = 100      # partners kept per item: the setting of every co-occurrence figure in BENCHMARKS.md
# events apart, for a log in order only: Beauty's best on validation, Scientific's level with 10 to 20
QUALITY_CO_OCCURRENCE_SPAN = 5

QUALITY_FLAGS: dict[str, Any] = {
    "epochs": 300, "eval_every": 1, "patience": 20, "select_best": True, "sampling": "users", "dense_loss": True,
    "target_weight": 0.0, "readout": "last_event", "tied_embeddings": True, "input_scale": 8.0, "similarity": "dot",
    "dropout": 0.2, "d_model": 64, "layers": 2, "heads": 1, "batch_size": 128, "lr": 1e-3, "dense_divisor": "fixed",
}

RECIPES: dict[str, dict[str, Any]] = {"small": {}, "quality": QUALITY_FLAGS}


@dataclass(frozen=True)
class DataDependent:
    """The choices a recipe leaves to the data, once they are made."""
    full_softmax: bool
    dense_rank: bool
    select_on: str
    co_occurrence: int
    co_occurrence_span: int

    def summary(self) -> str:
        together = f"within {self.co_occurrence_span} events" if self.co_occurrence_span else "by second"
        return (("softmax over the whole catalogue" if self.full_softmax else "sampled negatives")
                + (", ranking loss on every labelled history event" if self.dense_rank else "")
                + f", model selection on validation {self.select_on}"
                + (f", co-occurrence term counted {together}" if self.co_occurrence else ""))


def resolve(recipe: str, *, full_softmax: bool | None, dense_rank: bool | None, select_on: str | None,
            co_occurrence: int | None, co_occurrence_span: int | None, catalogue_size: int,
            has_negative_labels: bool, has_timestamps: bool, rerank_top: int) -> DataDependent:
    """Fills in the choices the command line left unset (None): by the data under "quality", off under "small"."""
    quality = recipe == "quality"
    if full_softmax is None:
        full_softmax = quality and catalogue_size <= FULL_SOFTMAX_MAX_ITEMS
    if dense_rank is None:
        dense_rank = quality and has_negative_labels
    if select_on is None:
        select_on = "ndcg@10+auc" if quality and has_negative_labels else "ndcg@10"
    if co_occurrence is None:
        co_occurrence = QUALITY_CO_OCCURRENCE if quality and rerank_top > 0 else 0
    if co_occurrence_span is None:
        co_occurrence_span = QUALITY_CO_OCCURRENCE_SPAN if co_occurrence and not has_timestamps else 0
    return DataDependent(full_softmax, dense_rank, select_on, co_occurrence, co_occurrence_span)
