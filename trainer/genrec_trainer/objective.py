"""What one training step minimizes, given train()'s switches.

Retrieval: the request-level loss on each example's own target (sampled softmax with in-batch and
uniform negatives, a softmax over the whole catalogue, or UniGRF's enhancer) and/or the dense
next-item loss (SASRec's: every history prefix predicts its next event; an event reached through a
search is predicted from the prefix plus that search's query, as a search request is read). Ranking: BCE on the target
and sampled or labelled negatives, optionally at every labelled history event after its own prefix
(M-FALCON at every position), optionally + the pairwise logistic loss. train() combines the two
(fixed weight or UniGRF's adaptive weighter); the model is untouched here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .losses import (dense_next_item_loss, enhanced_retrieval_loss, enhancer_select, favourites_full_softmax_loss,
                     full_softmax_loss, pairwise_logistic_loss, ranking_bce_loss, sampled_softmax_loss, seen_before,
                     tied_full_softmax_loss)
from .model import GenRecModel


def successors(batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Each history event's next event: items [B, N] (0 after padding; the last one's is the
    target) and labels [B, N] (-1 = unlabelled)."""
    h_items = batch["history_items"]
    items = torch.cat([h_items[:, 1:], batch["target"][:, None]], dim=1) * (h_items > 0)
    labels = torch.cat([batch["history_labels"][:, 1:], batch["label"][:, None]], dim=1)
    return items, labels


def tied_successors(next_items: Tensor, ages: Tensor, width: int) -> Tensor:
    """Each history event's next event and the events after it with the same timestamp, up to `width`:
    next_items [B, N] (successors()), ages [B, N] (history_age_seconds; the last event's successor,
    the target, is at age 0) -> [B, N, width] item ids, 0 = none. Column 0 is next_items."""
    next_ages = F.pad(ages[:, 1:], (0, 1))                                   # [B, N]
    columns = [next_items]
    for j in range(1, width):
        later = F.pad(next_items, (0, j))[:, j:]                             # the successor j events on (0: none)
        later_age = F.pad(next_ages, (0, j), value=-1)[:, j:]
        columns.append(torch.where(later_age == next_ages, later, 0) * (columns[-1] > 0))  # a run of ties, unbroken
    return torch.stack(columns, -1)


def next_queries(batch: dict[str, Tensor]) -> Tensor:
    """Each history event's next event's search query tokens [B, N, Q] (all padding: no search; the
    last one's is the target's)."""
    queries = torch.cat([batch["history_query_tokens"][:, 1:], batch["query_tokens"][:, None]], dim=1)
    return queries * (batch["history_items"] > 0)[..., None]


def observed_as_positive(labels: Tensor) -> Tensor:
    """Ranking labels: an unlabelled event (-1) was observed, so it counts as positive."""
    return torch.where(labels < 0, 1, labels)


@dataclass
class Enhancer:
    """UniGRF's ranking-driven enhancer: of the retrieval model's current top `top` items, the
    `hard` the ranking model scores lowest become hard negatives; those it scores above
    `favourite_threshold` are relabelled positive with `favourite_weight`."""
    top: int = 20
    hard: int = 5
    favourite_threshold: float = 0.9
    favourite_weight: float = 0.5
    # what it selected since the last take_counts(): requests, favourites, hard negatives (for the log)
    counts: dict = field(default_factory=lambda: {"requests": 0, "favourites": 0, "hard": 0})

    def take_counts(self) -> dict[str, float]:
        """Favourites and hard negatives per request since the last call (then reset)."""
        n = max(self.counts["requests"], 1)
        per_request = {"favourites_per_request": self.counts["favourites"] / n, "hard_per_request": self.counts["hard"] / n}
        self.counts.update(requests=0, favourites=0, hard=0)
        return per_request

    def select(self, model: GenRecModel, table: Tensor, all_emb: Tensor, user: Tensor, cache, batch
               ) -> tuple[Tensor, Tensor, Tensor]:
        """The request's retrieval top `top` over all_emb [I + 1, E] (its history and target excluded):
        item ids [B, M] and the masks (hard negatives, favourites) [B, M] that the ranking model's
        probabilities give them."""
        ck, cv, cm = cache
        with torch.no_grad():
            sims = user.detach() @ all_emb.detach().T                                   # [B, I + 1]
            sims[:, 0] = float("-inf")
            sims.scatter_(1, batch["history_items"], float("-inf"))
            sims.scatter_(1, batch["target"][:, None], float("-inf"))
            cand = sims.topk(min(self.top, model.cfg.num_items - 1), dim=1).indices      # [B, M]
            prob = torch.sigmoid(model.score(ck.detach(), cv.detach(), cm, cand, item_table=table.detach()))
            hard, fav = enhancer_select(prob, torch.isfinite(sims.gather(1, cand)), self.hard, self.favourite_threshold)
        return cand, hard, fav

    def _count(self, fav: Tensor, hard: Tensor | None) -> None:
        self.counts["requests"] += len(fav)
        self.counts["favourites"] += int(fav.sum())
        self.counts["hard"] += int(hard.sum()) if hard is not None else 0

    def loss(self, model: GenRecModel, table: Tensor, user: Tensor, cache, batch, neg: Tensor,
             temperature: float) -> Tensor:
        """The example-level sampled softmax with the hard negatives added and the favourites relabelled."""
        target = batch["target"]
        all_emb = model.item_embeddings(torch.arange(model.cfg.num_items + 1, device=table.device), table)  # [I + 1, E]
        cand, hard, fav = self.select(model, table, all_emb, user, cache, batch)
        self._count(fav, hard)
        return enhanced_retrieval_loss(user, target, all_emb[target], neg, all_emb[neg], all_emb[cand], hard, fav,
                                       temperature, self.favourite_weight)

    def favourites_loss(self, model: GenRecModel, table: Tensor, catalogue_emb: Tensor, user: Tensor, cache, batch,
                        dense_targets: int, temperature: float, exclude_seen: bool = False) -> Tensor:
        """Beside the dense loss with a full softmax (recipe C), where no example-level loss exists:
        the favourites of each request's own readout join the catalogue softmax (catalogue_emb [I, E],
        the one the dense loss already computed) as positives, each weighing favourite_weight of one
        of the dense loss's `dense_targets` observed next events.
        (Per request instead, ~100 targets on ML-100K, a few favourites outweighed the whole history
        and their feedback loop (retrieved -> relabelled -> retrieved higher) wrecked training: measured.)"""
        all_emb = torch.cat([catalogue_emb.new_zeros(1, catalogue_emb.shape[1]), catalogue_emb])  # [I + 1, E]; row 0 = padding
        cand, _, fav = self.select(model, table, all_emb, user, cache, batch)
        self._count(fav, None)  # every item is a negative of the full softmax already: no hard negative is added
        return self.favourite_weight * favourites_full_softmax_loss(
            user, catalogue_emb, cand, fav, temperature, per=dense_targets,
            excluded=batch["history_items"] if exclude_seen else None)


@dataclass(frozen=True)
class Objective:
    """train()'s loss switches, fixed for a run; called once per step."""
    num_items: int
    temperature: float          # 1.0 for dot-product logits
    negatives: int              # uniform negatives per step (unused with full_softmax)
    full_softmax: bool          # retrieval losses over the whole catalogue
    in_batch_negatives: bool    # the other rows' targets are negatives of the request-level loss too
    dense_loss: bool            # every history prefix also predicts its next event
    dense_readout: str          # "history" (each event's own state) | "ret" (RET after each prefix)
    dense_weight: float
    target_weight: float        # with dense_loss: weight of the request-level loss (0: not computed)
    enhancer: Enhancer | None
    rank_negatives: int         # random items labelled 0 beside each target (0: labelled events only)
    rank_loss: str              # "bce" | "bce+pairwise"
    pairwise_weight: float
    dense_rank: bool            # also rank every labelled history event after its own prefix
    dense_per: float | None = None  # the dense loss's divisor: None = the batch's target count (a mean)
    rank_per: float | None = None   # with dense_rank, the ranking BCE's divisor: None = the batch's entry count
    dense_search: bool = True       # with dense_loss, a searched next event is predicted after its query
    exclude_seen: bool = False      # full softmax: items the user has already seen are no negatives (as in evaluation)
    tied_next: int = 1              # dense full softmax: the next event and up to tied_next - 1 later ones at its timestamp
    item_id_dropout: float = 0.0    # each step, this share of items is seen through its text alone (model.item_table)

    def __call__(self, model: GenRecModel, batch: dict[str, Tensor], rng: np.random.Generator
                 ) -> tuple[Tensor, Tensor]:
        """(retrieval loss, ranking loss) of one batch; encodes the batch once for both."""
        table = model.item_table(self.item_id_dropout)  # every item's repr once per step, gathered below
        hidden: list | None = [] if self.dense_loss and self.dense_readout == "history" else None
        user, ck, cv, cm = model.encode(batch["history_items"], batch["history_actions"], batch["history_age_seconds"],
                                        batch["history_query_tokens"], batch["query_tokens"], item_table=table,
                                        hidden=hidden, request_time=batch.get("request_time"))
        nxt, nxt_label = successors(batch) if self.dense_loss or self.dense_rank else (None, None)  # [B, N]
        l_ret = self.retrieval(model, table, batch, user, (ck, cv, cm), hidden, nxt, rng)
        return l_ret, self.ranking(model, table, batch, (ck, cv, cm), nxt, nxt_label, rng)

    def retrieval(self, model, table, batch, user, cache, hidden, nxt, rng) -> Tensor:
        dev = table.device
        neg = (torch.arange(1, self.num_items + 1, device=dev) if self.full_softmax else
               torch.from_numpy(rng.integers(1, self.num_items + 1, self.negatives)).to(dev))
        neg_emb = model.item_embeddings(neg, table)                                      # [R or I, E]
        target = batch["target"]
        if self.dense_loss and self.target_weight == 0:
            l_ret = None  # SASRec's objective: the dense loss alone, no request-level loss to compute
        elif self.enhancer is not None:
            l_ret = self.enhancer.loss(model, table, user, cache, batch, neg, self.temperature)
        elif self.full_softmax:
            l_ret = full_softmax_loss(user, target, neg_emb, self.temperature,
                                      excluded=batch["history_items"] if self.exclude_seen else None)
        else:
            l_ret = sampled_softmax_loss(user, target, model.item_embeddings(target, table), neg, neg_emb,
                                         self.temperature, self.in_batch_negatives)
        if not self.dense_loss:
            return l_ret
        # Every history event's state predicts the next event (the last one: the target). A next event
        # reached through a search is predicted where a search request is read (RET after its query):
        # without that, a model trained on the dense loss alone would never train its query path.
        nq = next_queries(batch) if self.dense_search else None                           # [B, N, Q]
        asked = (nq > 0).any(-1) if nq is not None else None                              # [B, N]
        searched = asked is not None and bool(asked.any())
        if hidden is not None and not searched:
            states = hidden[0]                                                            # [B, N, E]
        else:
            # the events' keys and values and readouts of this step's causal pass are reused, not recomputed
            events = None if hidden is None else (cache[0], cache[1], hidden[0])
            states = model.prefix_users(batch["history_items"], batch["history_actions"], batch["history_age_seconds"],
                                        batch["history_query_tokens"], item_table=table,
                                        next_query_tokens=nq if searched else None, events=events,
                                        request_time=batch.get("request_time"))  # [B, N, E]
            if hidden is not None:  # the other events keep the history readout: each event's own state
                states = torch.where(asked[..., None], states, hidden[0])
        seen = seen_before(batch["history_items"]) if self.exclude_seen else None          # [B, N, N]
        if self.tied_next > 1:
            tied = tied_successors(nxt, batch["history_age_seconds"], self.tied_next)      # [B, N, W]
            l_dense = tied_full_softmax_loss(states, tied, neg_emb, self.temperature, self.dense_per, seen)
        else:
            l_dense = (full_softmax_loss(states, nxt, neg_emb, self.temperature, self.dense_per, seen)
                       if self.full_softmax else
                       dense_next_item_loss(states, nxt, model.item_embeddings(nxt, table), neg, neg_emb, self.temperature,
                                            self.dense_per))
        if l_ret is not None:
            return self.target_weight * l_ret + self.dense_weight * l_dense
        if self.enhancer is not None:  # its favourites still join each request's own readout (full softmax: see train())
            return self.dense_weight * l_dense + self.dense_weight * self.enhancer.favourites_loss(
                model, table, neg_emb, user, cache, batch, self.dense_per or int((nxt > 0).sum()), self.temperature,
                self.exclude_seen)
        return self.dense_weight * l_dense

    def ranking(self, model, table, batch, cache, nxt, nxt_label, rng) -> Tensor:
        # The target with its label (unlabelled = observed = positive) + random negatives at 0.
        ck, cv, cm = cache
        target = batch["target"]
        rneg = torch.from_numpy(rng.integers(1, self.num_items + 1, (len(target), self.rank_negatives))).to(table.device)
        cands = torch.cat([target[:, None], rneg], dim=1)
        labels = torch.zeros_like(cands)
        labels[:, 0] = observed_as_positive(batch["label"])
        weight = torch.ones_like(cands)
        weight[:, 1:] = (rneg != target[:, None]).long()  # a sampled "negative" equal to the target is no negative
        rank_logits = model.score(ck, cv, cm, cands, item_table=table)
        l_rank = ranking_bce_loss(rank_logits, labels, weight)
        dense_logits = None
        if self.dense_rank:
            # every labelled event is also ranked after its own prefix: [B, N] candidates at once
            dense_logits = model.score_every_prefix(ck, cv, batch["history_items"], batch["history_age_seconds"],
                                                    nxt, item_table=table)
            l_rank = ranking_bce_loss(torch.cat([rank_logits, dense_logits], dim=1),
                                      torch.cat([labels, observed_as_positive(nxt_label)], dim=1),
                                      torch.cat([weight, (nxt > 0).long()], dim=1), self.rank_per)
        if self.rank_loss == "bce+pairwise":
            pairs = self.pairs(rank_logits, labels, weight, dense_logits, nxt, nxt_label)
            l_rank = l_rank + self.pairwise_weight * pairs
        return l_rank

    def pairs(self, rank_logits, labels, weight, dense_logits, nxt, nxt_label) -> Tensor:
        """The pairwise logistic loss's pairs (positive above negative):
        - dense_rank: within each user's labelled events, each scored after its own prefix (the target is the last);
          an unlabelled event (-1) is in none. Not the batch's targets alone: they are ~1 % of the ranked entries
          (128 of ~11,400 per ML-100K batch), so a mean over their pairs pushed each ~150 times harder than the BCE,
          on the same targets every epoch (sampling "users"): on ML-100K −.04 AUC, these pairs −.012 (BENCHMARKS.md,
          sessions 23–24: the test AUC pairs events of different users, which within-user pairs do not order);
        - random negatives: each target against its row's sampled items;
        - labelled targets only: across the batch (one candidate per row, so no pair within a row)."""
        if dense_logits is not None:
            return pairwise_logistic_loss(dense_logits, nxt_label, (nxt > 0).long())
        if self.rank_negatives > 0:
            return pairwise_logistic_loss(rank_logits, labels, weight)
        return pairwise_logistic_loss(rank_logits.T, labels.T, weight.T)
