from pathlib import Path

import numpy as np
import pytest
import torch

from genrec_trainer import synthetic
from genrec_trainer.data import build_vocab, item_index, item_token_table
from genrec_trainer.encoding import RequestEncoder
from genrec_trainer.model import GenRecModel, ModelConfig

ACTIONS = ["click", "purchase"]
MAX_HISTORY = 8
MAX_Q = 4


class Tiny:
    """A tiny synthetic world and an untrained model: fast, and enough for invariance tests."""

    def __init__(self):
        torch.manual_seed(0)
        self.items, self.events = synthetic.generate(seed=3, num_users=12, num_items=40, min_len=12, max_len=16)
        self.index = item_index(self.items)
        self.vocab = build_vocab(self.items, self.events)
        cfg = ModelConfig(num_items=len(self.items), vocab_size=len(self.vocab), num_actions=len(ACTIONS),
                          max_item_tokens=8, d_model=16, layers=2, heads=2, embedding_dim=16, mlp_hidden=32)
        self.model = GenRecModel(cfg, torch.from_numpy(item_token_table(self.items, self.vocab, 8))).eval()
        self.encoder = RequestEncoder(self.index, ACTIONS, self.vocab, MAX_HISTORY, MAX_Q)

    def history(self, n: int, with_queries: bool = True) -> list[dict]:
        evs = [e for e in self.events if e.user_id == self.events[0].user_id][:n]
        return [{"item": e.item_id, "action": e.action, "time": e.timestamp,
                 **({"query": e.query} if e.query and with_queries else {})} for e in evs]


@pytest.fixture(scope="session")
def tiny() -> Tiny:
    return Tiny()


def tensors(enc) -> list[torch.Tensor]:
    return [torch.from_numpy(np.asarray(a)) for a in enc.graph_inputs().values()]


def rank_head_with_candidate_in_ret_place(model, enc, item: int) -> torch.Tensor:
    """The rank head read at RET after a full causal pass with the candidate's token standing where
    RET stands (same position, age 0): what M-FALCON scoring of that candidate must equal."""
    from genrec_trainer import model as mod

    saved = model.type_emb.weight[mod.TYPE_RET].clone()
    model.type_emb.weight[mod.TYPE_RET] = (model.item_repr(torch.tensor(item)) * model.cfg.input_scale
                                           + model.type_emb.weight[mod.TYPE_CANDIDATE])
    try:
        captured = {}
        hook = model.final_norm.register_forward_hook(lambda _m, _i, o: captured.setdefault("out", o))
        model.encode(*tensors(enc))
        hook.remove()
        return model.rank_head(captured["out"])[0, 0]
    finally:
        model.type_emb.weight[mod.TYPE_RET] = saved


JDSEARCH_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "jdsearch-sample"


@pytest.fixture(scope="session")
def jdsearch_sample() -> Path:
    """JDsearch's published 3-user sample, where ../shared/data is beside the checkout (as in CI); else it skips."""
    if not JDSEARCH_SAMPLE.is_dir():
        pytest.skip(f"{JDSEARCH_SAMPLE} is not here")
    return JDSEARCH_SAMPLE
