"""Training objectives: sampled softmax (InfoNCE) for retrieval; BCE and pairwise logistic for
ranking; UniGRF's ranking-driven enhancer and adaptive loss weighter."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def sampled_softmax_loss(user: Tensor, positives: Tensor, pos_emb: Tensor, negatives: Tensor, neg_emb: Tensor,
                         temperature: float = 0.05, in_batch: bool = True) -> Tensor:
    """InfoNCE on cosine similarity / temperature over in-batch + uniform random negatives.

    user [B, E], pos_emb [B, E], neg_emb [R, E]: L2-normalized (or raw, for dot-product logits with
    temperature 1); positives [B], negatives [R]: item ids.
    Candidates for row b are all B in-batch positives and the R sampled items; a candidate that is
    the same item as row b's positive (an "accidental hit") but not row b's own column is masked,
    so the model is never pushed away from the item it should retrieve. in_batch=False: the other
    rows' positives are no negatives (they are popularity-sampled: without a logQ correction they
    teach the model to push popular items down), only the R uniform samples are.
    """
    b = user.shape[0]
    cand_ids = torch.cat([positives, negatives])                       # [B + R]
    logits = user @ torch.cat([pos_emb, neg_emb]).T / temperature      # [B, B + R]
    own = torch.zeros_like(logits, dtype=torch.bool)
    own[:, :b] = torch.eye(b, dtype=torch.bool, device=user.device)
    masked = (cand_ids[None, :] == positives[:, None]) & ~own
    if not in_batch:
        masked[:, :b] |= ~own[:, :b]
    logits = logits.masked_fill(masked, float("-inf"))
    return F.cross_entropy(logits, torch.arange(b, device=user.device))


def ranking_bce_loss(logits: Tensor, labels: Tensor, weight: Tensor | None = None, per: float | None = None) -> Tensor:
    """Pointwise BCE on ranking logits [B, K] with 0/1 labels [B, K]; weight masks entries.
    per: None = the mean over the kept entries; a number = their sum over that fixed count (as in mean_or_per)."""
    loss = F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")
    if weight is None:
        return mean_or_per(loss, per)
    weight = weight.float()
    return (loss * weight).sum() / (weight.sum().clamp(min=1.0) if per is None else per)


def mean_or_per(losses: Tensor, per: float | None) -> Tensor:
    """The mean of per-target losses, or (per = a number) their sum divided by that fixed count:
    every target then weighs the same whatever the batch holds (see train.dense_divisor)."""
    return losses.mean() if per is None else losses.sum() / per


def dense_next_item_loss(states: Tensor, next_items: Tensor, next_emb: Tensor, negatives: Tensor, neg_emb: Tensor,
                         temperature: float = 0.05, per: float | None = None) -> Tensor:
    """SASRec-style dense objective: the state after each history event predicts the next item,
    sampled softmax against shared uniform negatives (a negative equal to the row's next item is
    masked). states [B, N, E], next_items [B, N] (0 = no target: skipped), next_emb [B, N, E],
    negatives [R], neg_emb [R, E]; embeddings as in sampled_softmax_loss. per: as in mean_or_per."""
    keep = next_items > 0
    if not keep.any():
        return states.sum() * 0.0
    s, t, te = states[keep], next_items[keep], next_emb[keep]            # [M, E], [M], [M, E]
    pos = (s * te).sum(-1, keepdim=True) / temperature                   # [M, 1]
    neg = (s @ neg_emb.T / temperature).masked_fill(negatives[None, :] == t[:, None], float("-inf"))
    logits = torch.cat([pos, neg], dim=1)
    return mean_or_per(F.cross_entropy(logits, torch.zeros(len(t), dtype=torch.long, device=states.device),
                                       reduction="none"), per)


class CatalogueCrossEntropy(torch.autograd.Function):
    """Per row, -log softmax(states @ catalogue.T)[target]: states [M, E], catalogue [I, E], targets
    [M] in 0..I-1 -> [M]. The value and gradients of F.cross_entropy on those logits, computed in
    blocks of rows whose [rows, I] logits stay in the CPU's cache and are never kept.

    Why: F.cross_entropy on the whole [M, I] matrix (ml-1m-part: ~20,000 targets x 3,615 items per
    batch, 290 MB) writes the logits, their log-probabilities, a dense one-hot gradient and the logits'
    gradient, each pass going to memory: a quarter of an ML-100K step, ~40 % of an ml-1m-part one.
    Blockwise, forward keeps only each row's log-sum-exp; backward recomputes each block's logits (one
    more [rows, E] x [E, I] product, a third more matrix FLOPs) and turns them into softmax - one-hot in
    place. Measured 3-7.5x faster than F.cross_entropy at the Beauty, ml-1m-part and ML-100K shapes
    (BENCHMARKS.md, session 18).
    """

    CPU_BLOCK_BYTES = 3 << 19     # 1.5 MiB of logits per block: within a core's L2 (measured best at 1.5-2 MB)
    CUDA_BLOCK_BYTES = 256 << 20  # a GPU wants few large kernels; this only bounds the memory

    @staticmethod
    def rows_per_block(items: int, device: torch.device) -> int:
        budget = CatalogueCrossEntropy.CUDA_BLOCK_BYTES if device.type == "cuda" else CatalogueCrossEntropy.CPU_BLOCK_BYTES
        return max(8, budget // (4 * items))

    @staticmethod
    def block_logits(states: Tensor, catalogue: Tensor, targets: Tensor, excluded: Tensor | None) -> Tensor:
        """states [rows, E] @ catalogue.T -> [rows, I], each row's `excluded` columns [rows, S] at -inf
        (an entry that is the row's own target keeps its logit: a repeated item stays predictable)."""
        logits = states @ catalogue.T
        if excluded is not None:
            own = logits.gather(1, targets[:, None])
            logits.scatter_(1, excluded, float("-inf")).scatter_(1, targets[:, None], own)
        return logits

    @staticmethod
    def forward(ctx, states: Tensor, catalogue: Tensor, targets: Tensor, excluded: Tensor | None = None) -> Tensor:
        rows = CatalogueCrossEntropy.rows_per_block(len(catalogue), states.device)
        block = CatalogueCrossEntropy.block_logits
        log_z = torch.cat([torch.logsumexp(block(states[i:i + rows], catalogue, targets[i:i + rows],
                                                 None if excluded is None else excluded[i:i + rows]), dim=1)
                           for i in range(0, len(states), rows)])                        # [M]
        ctx.save_for_backward(states, catalogue, targets, log_z, excluded)
        return log_z - (states * catalogue[targets]).sum(1)

    @staticmethod
    def backward(ctx, grad: Tensor):
        states, catalogue, targets, log_z, excluded = ctx.saved_tensors
        rows = CatalogueCrossEntropy.rows_per_block(len(catalogue), states.device)
        grad_states = torch.empty_like(states)
        grad_catalogue = torch.zeros_like(catalogue)
        weighted = states * grad[:, None]                                               # [M, E]
        for i in range(0, len(states), rows):
            block = slice(i, i + rows)
            p = CatalogueCrossEntropy.block_logits(states[block], catalogue, targets[block],
                                                   None if excluded is None else excluded[block])
            p.sub_(log_z[block, None]).exp_()                                           # softmax [rows, I]
            p[torch.arange(len(p), device=p.device), targets[block]] -= 1.0             # - one-hot
            grad_states[block] = (p @ catalogue) * grad[block, None]
            grad_catalogue.addmm_(p.T, weighted[block])
        return grad_states, grad_catalogue, None, None


def full_softmax_loss(states: Tensor, targets: Tensor, catalogue_emb: Tensor, temperature: float = 0.05,
                      per: float | None = None, excluded: Tensor | None = None) -> Tensor:
    """Softmax over the whole catalogue: states [..., E] (rows whose target is 0 are skipped),
    targets [...] item ids 1..I, catalogue_emb [I, E] = the embeddings of items 1..I (as in
    sampled_softmax_loss). The same value as dense_next_item_loss with every item as a negative, without
    building the [M, I] mask and concatenation, in cache-sized blocks (CatalogueCrossEntropy).
    excluded [..., S]: item ids (0 = none) left out of each row's softmax (the items the user has
    already seen, as the evaluation leaves them out: seen_before); the row's own target never is."""
    keep = targets > 0
    if not keep.any():
        return states.sum() * 0.0
    return mean_or_per(catalogue_nll(states, targets, catalogue_emb, temperature, excluded), per)


def catalogue_nll(states: Tensor, targets: Tensor, catalogue_emb: Tensor, temperature: float,
                  excluded: Tensor | None) -> Tensor:
    """full_softmax_loss's per-row losses [M], one per row whose target is not 0, in row order (M may be 0)."""
    keep = targets > 0
    if not keep.any():
        return states.new_zeros(0)
    t = targets[keep] - 1
    if excluded is not None:
        ex = excluded[keep]                                                   # [M, S]
        excluded = torch.where(ex > 0, ex - 1, t[:, None])                    # "none" points at the kept target
    return CatalogueCrossEntropy.apply(states[keep] / temperature, catalogue_emb, t, excluded)


def tied_full_softmax_loss(states: Tensor, positives: Tensor, catalogue_emb: Tensor, temperature: float = 0.05,
                           per: float | None = None, excluded: Tensor | None = None) -> Tensor:
    """full_softmax_loss with several positives per row: positives [..., W] item ids (0 = none; rows
    whose column 0 is 0 are skipped). Each positive adds -log softmax(catalogue)[positive] with the
    row's other positives (and `excluded` [..., S]) left out of that softmax, weighted 1 / (the row's
    number of positives): a row weighs what it weighs in full_softmax_loss, which W = 1 is.
    Why: events with equal timestamps have no order (tied_successors), so each of them is "the next"."""
    rows = positives[..., 0] > 0
    if not rows.any():
        return states.sum() * 0.0
    share = 1.0 / (positives > 0).sum(-1).clamp(min=1)                         # [...]
    excluded = positives if excluded is None else torch.cat([excluded, positives], -1)
    total = sum((catalogue_nll(states, positives[..., j], catalogue_emb, temperature, excluded)
                 * share[positives[..., j] > 0]).sum() for j in range(positives.shape[-1]))
    return total / (per or int(rows.sum()))


def seen_before(history_items: Tensor) -> Tensor:
    """history_items [B, N] (0 = padding) -> [B, N, N]: row t holds the items of events 0..t (0 elsewhere),
    what the user had seen when the state after event t predicts the next one."""
    n = history_items.shape[1]
    upto = torch.ones(n, n, dtype=torch.bool, device=history_items.device).tril()   # [t, s]: s <= t
    return history_items[:, None, :] * upto


def favourites_full_softmax_loss(user: Tensor, catalogue_emb: Tensor, candidates: Tensor, favourite: Tensor,
                                 temperature: float = 0.05, per: float | None = None,
                                 excluded: Tensor | None = None) -> Tensor:
    """UniGRF's potential favourites as extra positives of a softmax over the whole catalogue:
    user [B, E], catalogue_emb [I, E] (items 1..I), candidates [B, M] item ids, favourite [B, M] bool.
    Each favourite f of row b adds -log softmax(user_b . catalogue / T)[f]; the sum is divided by
    `per` (default B, as in enhanced_retrieval_loss; beside the dense loss: its number of targets,
    so that a favourite weighs what one observed next event does). (Every item is already a
    negative of a full softmax, so the enhancer's hard negatives have nothing to add there.)
    excluded [B, S]: item ids (0 = none) left out of each row's softmax, as full_softmax_loss does with
    the user's history (the favourites are never among them: Enhancer.select leaves the history out)."""
    if not favourite.any():
        return user.sum() * 0.0
    logits = (user / temperature) @ catalogue_emb.T                            # [B, I]
    if excluded is not None:  # a padding column 0 in front takes the "none" entries, then goes
        pad = logits.new_zeros(len(logits), 1)
        logits = torch.cat([pad, logits], dim=1).scatter(1, excluded, float("-inf"))[:, 1:]
    log_p = logits.log_softmax(dim=1)
    chosen = torch.where(favourite, log_p.gather(1, candidates - 1), 0.0)     # not `* favourite`: -inf * 0 is nan
    return -chosen.sum() / (per or user.shape[0])


def pairwise_logistic_loss(logits: Tensor, labels: Tensor, weight: Tensor | None = None) -> Tensor:
    """Pairwise logistic (RankNet/BPR) loss within each row: mean over pairs (i, j) with
    label_i = 1, label_j = 0 (both with weight > 0) of log(1 + exp(-(s_i - s_j))).
    logits, labels, weight: [B, K]. Rows without such a pair contribute nothing; 0 if none at all."""
    w = torch.ones_like(logits) if weight is None else weight.float()
    pos = (labels == 1).float() * w                                       # [B, K]
    neg = (labels == 0).float() * w
    pair_w = pos[:, :, None] * neg[:, None, :]                            # [B, K(i), K(j)]
    diff = logits[:, :, None] - logits[:, None, :]                        # s_i - s_j
    loss = F.softplus(-diff)
    total = pair_w.sum()
    return (loss * pair_w).sum() / total.clamp(min=1.0)


def enhancer_select(rank_prob: Tensor, valid: Tensor, hard_negatives: int, favourite_threshold: float
                    ) -> tuple[Tensor, Tensor]:
    """UniGRF ranking-driven enhancer, selection step. Inputs are the retrieval top-M items of each
    row (already the items with the HIGHEST retrieval scores, target and history removed via
    `valid`), with the ranking model's probability rank_prob [B, M].
    - hard negatives: among them, the `hard_negatives` with the LOWEST ranking probability
      (high retrieval score, low ranking score) that are not potential favourites;
    - potential favourites: ranking probability >= favourite_threshold -> relabelled positive.
    Returns boolean masks (hard [B, M], favourite [B, M])."""
    fav = valid & (rank_prob >= favourite_threshold)
    cand = valid & ~fav
    k = min(hard_negatives, rank_prob.shape[1])
    hard = torch.zeros_like(valid)
    if k > 0:
        key = torch.where(cand, rank_prob, torch.full_like(rank_prob, float("inf")))
        idx = key.topk(k, dim=1, largest=False).indices                   # [B, k]
        hard.scatter_(1, idx, True)
        hard &= cand
    return hard, fav


def enhanced_retrieval_loss(user: Tensor, positives: Tensor, pos_emb: Tensor, negatives: Tensor, neg_emb: Tensor,
                            extra_emb: Tensor, hard: Tensor, fav: Tensor, temperature: float = 0.05,
                            favourite_weight: float = 0.5) -> Tensor:
    """Sampled softmax with the enhancer's per-row extras: extra_emb [B, M, E] are added to row b's
    candidates when hard[b, m] (hard negatives); favourites fav[b, m] are relabelled positive: each
    adds favourite_weight * (-log softmax) of its own logit, over the same candidate set (in which
    favourites are not counted as negatives of the target)."""
    b = user.shape[0]
    cand_ids = torch.cat([positives, negatives])
    logits = user @ torch.cat([pos_emb, neg_emb]).T / temperature         # [B, B + R]
    own = torch.zeros_like(logits, dtype=torch.bool)
    own[:, :b] = torch.eye(b, dtype=torch.bool, device=user.device)
    logits = logits.masked_fill((cand_ids[None, :] == positives[:, None]) & ~own, float("-inf"))
    extra = torch.einsum("be,bme->bm", user, extra_emb) / temperature     # [B, M]
    extra_neg = extra.masked_fill(~hard, float("-inf"))
    all_logits = torch.cat([logits, extra_neg], dim=1)                    # [B, B + R + M]
    log_z = torch.logsumexp(all_logits, dim=1)                            # [B]
    loss = (log_z - logits[torch.arange(b), torch.arange(b)]).mean()
    if fav.any():
        # favourites compete against the same negatives: log(exp(f) + Z) - f
        z_f = torch.logaddexp(log_z[:, None], extra)                      # [B, M]
        loss = loss + favourite_weight * ((z_f - extra) * fav).sum() / b
    return loss


class AdaptiveLossWeighter:
    """UniGRF adaptive loss weighter: w_k = K * softmax_k(r_k / T), r_k = L_k(t-1) / L_k(t-2)
    (the ratio of the latest to the previous observed loss, detached): a task whose loss falls
    more slowly gets more weight. Weights are 1 until two observations exist."""

    def __init__(self, num_tasks: int, temperature: float = 1.0):
        self.k, self.temperature = num_tasks, temperature
        self.prev: Tensor | None = None
        self.last: Tensor | None = None
        self.handed_out: list[Tensor] = []   # since the last take_range(): what the weighter did, for the epoch log

    def weights(self) -> Tensor:
        if self.prev is None or self.last is None:
            w = torch.ones(self.k)
        else:
            ratio = self.last / self.prev.clamp(min=1e-12)
            w = self.k * torch.softmax(ratio / self.temperature, dim=0)
        self.handed_out.append(w)
        return w

    def take_range(self) -> tuple[Tensor, Tensor, Tensor]:
        """Each task's smallest, mean and largest weight handed out since the last call ([K] each; ones if none)."""
        given = torch.stack(self.handed_out) if self.handed_out else torch.ones(1, self.k)
        self.handed_out = []
        return given.min(0).values, given.mean(0), given.max(0).values

    def update(self, losses: Tensor) -> None:
        self.prev, self.last = self.last, losses.detach().float().clone()
