"""Training objectives: sampled softmax (InfoNCE) for retrieval, BCE for ranking."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def sampled_softmax_loss(user: Tensor, positives: Tensor, pos_emb: Tensor, negatives: Tensor, neg_emb: Tensor,
                         temperature: float = 0.05) -> Tensor:
    """InfoNCE on cosine similarity over in-batch + uniform random negatives.

    user [B, E], pos_emb [B, E], neg_emb [R, E]: L2-normalized; positives [B], negatives [R]: item ids.
    Candidates for row b are all B in-batch positives and the R sampled items; a candidate that is
    the same item as row b's positive (an "accidental hit") but not row b's own column is masked,
    so the model is never pushed away from the item it should retrieve.
    """
    b = user.shape[0]
    cand_ids = torch.cat([positives, negatives])                       # [B + R]
    logits = user @ torch.cat([pos_emb, neg_emb]).T / temperature      # [B, B + R]
    own = torch.zeros_like(logits, dtype=torch.bool)
    own[:, :b] = torch.eye(b, dtype=torch.bool, device=user.device)
    accidental = (cand_ids[None, :] == positives[:, None]) & ~own
    logits = logits.masked_fill(accidental, float("-inf"))
    return F.cross_entropy(logits, torch.arange(b, device=user.device))


def ranking_bce_loss(logits: Tensor, labels: Tensor, weight: Tensor | None = None) -> Tensor:
    """Pointwise BCE on ranking logits [B, K] with 0/1 labels [B, K]; weight masks entries."""
    loss = F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")
    if weight is None:
        return loss.mean()
    weight = weight.float()
    return (loss * weight).sum() / weight.sum().clamp(min=1.0)
