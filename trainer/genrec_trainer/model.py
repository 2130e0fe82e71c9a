"""A generative recommender: one decoder-only Transformer for retrieval and ranking.

Notation: B batch, N history length (left-padded), Q query tokens, K candidates, D d_model,
L layers, H heads, Dh head dim, E retrieval embedding dim, T = N + 1 (history + context).

1. Items.   repr(i) = IdEmb(i) + mean(TokEmb(title/category tokens of i)); the item -> token
            table is a buffer, so it is baked into the exported graphs and unseen-in-training
            items still get a text-driven representation.
2. Events.  token = repr(item) + ActEmb(action) + mean(TokEmb(query of the event, if any)).
3. Sequence [e_1 .. e_N | ctx | RET], where ctx = mean(TokEmb(request query)) + Type(query),
            or Type(no_query) when the request has no query tokens; RET is the retrieval task token.
4. Time-aware RoPE: half of each head's rotary pairs turn with the event's position among real
            events, the other half with log1p(age_seconds / 60). Ages are request-relative, so
            a constant shift of all times (request time included) changes nothing.
5. Backbone: L pre-norm Llama blocks (RMSNorm, causal softmax attention, SiLU-gated MLP);
            padded history keys get an additive -1e9 (finite, so padded rows stay finite).
6. Retrieval: user = normalize(W_u out[RET]); item = normalize(W_i repr(item)); score = cosine
            (similarity = "dot": the same without normalize, score = dot product).
7. Ranking (M-FALCON): candidates (repr + Type(candidate)) sit at RET's position with age 0; at
            each layer a candidate attends to the cached keys/values of the T history+context
            tokens and to itself only: O(K*T), and a score never depends on another candidate.
            All candidates share one place, so one rotation matrix turns their queries, and their
            own keys need none; each layer's scores are one product with the cached keys plus one
            slot for the own key (CandidateCache). The exported encode graph hands out the cache in
            that layout, one tensor per layer, with the keys turned by that rotation (encode_served),
            so the score graph copies and rotates nothing (score_served), and gathers candidates'
            input rows from a table precomputed at export (candidate_table).

Switches (ModelConfig; the defaults are the model above, and every switch exports the same graphs):
- block = "softmax" (the Llama block) | "hstu" (HSTU: SiLU(W x) -> U, V, Q, K; pointwise
  attention SiLU(q.k + bias) / #visible keys, no softmax; out = W_o(norm(A V) * U); no MLP).
- time_signal = "rope" (time-aware RoPE as in 4.) | "none" (all rotary pairs by position) |
  "bucket" (all rotary pairs by position + a learned per-head bias on attention scores indexed
  by bucket(|age_key - age_query|), ages differenced in int64 before the cast, as HSTU's rab;
  RET and context see it too (age 0 vs each event's age: recency); score.onnx has no age inputs,
  so M-FALCON candidates get no bucket bias — there a candidate differs from RET's stream).
- time_scale = "log" (4.) | "linear": the time pairs turn with the age itself, one turn per period (2 minutes ..
  4 years), so two events meet at an angle of their time difference alone (TimeRotary says why).
- item_text = False: repr(i) = IdEmb(i) only (SASRec/HSTU baselines).
- action_input = False: an event's token carries no action (no MovieLens rating, no click/purchase): every real
  event gets the same ActEmb row, as the published SASRec and HSTU read ids only; the graphs keep their actions input.
- similarity = "cosine" (unit embeddings; losses divide the logits by a temperature) | "dot"
  (unnormalized embeddings, raw dot-product logits, as SASRec: an embedding's length can carry
  popularity and confidence; the item index then needs a maximum-inner-product field).
- readout = "ret" (the user embedding is read at RET) | "last_event" (a request WITHOUT a query
  is read at the last history event's state, as SASRec reads it; a request with a query still
  at RET, after the query context). SASRec's objective trains exactly that state at every prefix
  for the price of one causal pass, where RET needs the 3N-token prefix pass (prefix_users).
- tied_embeddings = True: no W_u / W_i heads: user = out[readout], item = repr(item) (SASRec's tied
  input/output embeddings).
- input_scale: the item representation is multiplied by it where it enters the sequence (events,
  candidates), not where it is compared with the user: SASRec's sqrt(d) lets the item's identity
  dominate the residual stream (its output state stays close to the last item) while the output
  logits keep a small scale.
- recency_positions = P > 0: a learned embedding of each event's rank from the latest event (0 ..
  P - 1, older ones share P - 1) added to its token: SASRec's learned right-aligned positions,
  which rotary position (relative, content-driven) did not replace on Beauty (BENCHMARKS.md).
- absolute_time_buckets = B > 0: a learned embedding of WHEN each event's prediction is made (the next event's
  time, the request's for the last event), in buckets of absolute_time_width seconds from absolute_time_origin
  (int64 arithmetic, clamped to the B trained buckets): what was popular then, which the request-relative ages of
  the RoPE cannot tell (MEANTIME's absolute-time embedding, at the prediction's time). The one input that breaks the
  invariance to a constant shift of all times, by design.
- tie_positions = True: events logged in the same second share one rotary position, that of the group's
  first event (the number of real events before the group), so the order a log gives them inside that
  second is no signal (MovieLens: half of a user's consecutive ratings share their second). An event's
  position still depends only on the events before it (causal); context, RET and candidates keep their
  places (#real events, + 1). Needs timestamps (an order-only log would tie every event).
- query_time = "next": each history event's query is turned to (or, with the time-bucket bias, measured
  from) the time of the prediction made at it, the next event's time (the request's for the last event),
  while its key keeps its own time: HSTU's relative time bias measures from the next event's timestamp
  the same way. A query then meets key j at "how long before this prediction was event j", and the
  last event's state knows how long ago it happened, which with "own" (and the linear time scale) it
  cannot. Under the linear time scale the dense loss's prefix i then computes exactly a request made at
  event i + 1's time; search prefixes (prefix_users) put their context/RET pair at that time too. The
  graphs' inputs do not change: the encode graph shifts the ages it already has.
- dropout > 0: dropout on the input tokens and on every residual branch, training only (sparse
  catalogues such as Amazon Beauty overfit without it, as SASRec found); eval() and the exported
  graphs are unchanged by it. attention_dropout > 0: dropout on the attention weights as well
  (SASRec's nn.MultiheadAttention does it), training only too.
- mlp_hidden: the MLP's width (the trainer's --mlp-ratio x d_model). mlp = "gelu": SASRec's
  feed-forward instead of the SiLU-gated one (W_2 drop(GELU(W_1 h + b_1)) + b_2); norm = "layer":
  LayerNorm (centred, with a bias) instead of RMSNorm everywhere. Both to measure what separates
  our block from the textbook SASRec's on Beauty (BENCHMARKS.md).

Training only: prefix_users() gives the retrieval embedding after every history prefix, with the next
event's search query where it has one (the dense next-item loss read where inference reads, for
recommendation and search requests alike): one context/RET pair per prefix read at RET, run over the
events' keys and values of the causal pass; the exported graphs never call it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NEG_INF = -1e9  # finite "minus infinity": rows with every key masked still softmax to finite values
# A hidden key's entry in CandidateCache's mask column: times any head scale it is far below exp()'s
# underflow, as NEG_INF is, and unlike NEG_INF it fits float16 (the GPU graphs compute the product in it).
MASK_KEY = -3e4
TYPE_QUERY, TYPE_NO_QUERY, TYPE_RET, TYPE_CANDIDATE = range(4)


def as_dtype(x: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """x in dtype; no cast (so no node in the float32 export) when it already is."""
    return x if x is None or x.dtype == dtype else x.to(dtype)


@dataclass
class ModelConfig:
    num_items: int            # catalogue size; indices 1..num_items, 0 = padding
    vocab_size: int
    num_actions: int          # without padding; action ids 1..num_actions
    max_item_tokens: int = 16
    d_model: int = 32
    layers: int = 2
    heads: int = 2
    embedding_dim: int = 32
    mlp_hidden: int = 64
    rope_base: float = 10000.0
    time_rope_fraction: float = 0.5  # share of rotary pairs driven by age (time_scale) instead of position
    time_rope_slowest: float = 0.0   # log scale: > 0 spreads the time pairs' frequencies from 1 down to this (TimeRotary)
    time_scale: str = "log"          # time pairs turn with "log": log1p(age / 60) | "linear": age (TimeRotary)
    block: str = "softmax"           # "softmax" (Llama) | "hstu" (pointwise SiLU attention, U-gate)
    time_signal: str = "rope"        # "rope" | "none" | "bucket"
    item_text: bool = True           # item repr = id embedding + text embedding (False: id only)
    action_input: bool = True        # event token + ActEmb(action) (False: one shared row, no action signal)
    time_buckets: int = 48
    dropout: float = 0.0             # training only; the exported graphs have none
    attention_dropout: float = 0.0   # training only: dropout on the attention weights (SASRec's)
    norm: str = "rms"                # "rms" (RMSNorm) | "layer" (LayerNorm with bias, SASRec's)
    mlp: str = "swiglu"              # "swiglu" (SiLU-gated, no biases) | "gelu" (SASRec's: GELU, biases, inner dropout)
    item_init_std: float = 0.1       # item id embeddings ~ N(0, this); SASRec's code: d_model ** -0.5
    position_init_std: float = 0.1   # recency position embeddings ~ N(0, this); SASRec's nn.Embedding: 1.0
    similarity: str = "cosine"       # "cosine" | "dot" (retrieval embeddings unnormalized)
    readout: str = "ret"             # "ret" | "last_event" (no-query requests read the last event's state)
    tied_embeddings: bool = False    # no user/item heads: state . repr(item) directly (SASRec)
    input_scale: float = 1.0         # item repr x this where it enters the sequence (SASRec: sqrt(d_model))
    recency_positions: int = 0       # > 0: learned embedding per recency rank (0 = latest event), SASRec-style
    tie_positions: bool = False      # events with one timestamp share the rotary position of the first of them
    query_time: str = "own"          # "own" | "next": a token's query sits at the time of the prediction it makes
    absolute_time_buckets: int = 0   # > 0: learned embedding of the absolute time of each event's prediction
    absolute_time_origin: int = 0    # seconds since the epoch where bucket 0 starts (the training log's first event)
    absolute_time_width: int = 86400  # seconds per bucket; times past the last bucket share it

    def __post_init__(self):
        assert self.block in ("softmax", "hstu"), self.block
        assert self.time_signal in ("rope", "none", "bucket"), self.time_signal
        assert self.time_scale in ("log", "linear"), self.time_scale
        assert self.similarity in ("cosine", "dot"), self.similarity
        assert self.readout in ("ret", "last_event"), self.readout
        assert self.norm in ("rms", "layer"), self.norm
        assert self.mlp in ("swiglu", "gelu"), self.mlp
        assert self.query_time in ("own", "next"), self.query_time
        assert not self.tied_embeddings or self.embedding_dim == self.d_model, "tied embeddings need embedding_dim = d_model"
        if self.time_signal != "rope":
            self.time_rope_fraction = 0.0

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def encode_read_rows(self) -> int:
        """How many of the encode's last tokens its output is read at: RET, or with readout last_event also the last
        event (two before RET, the query context between). Its last layer computes only those (last_queries); the
        manifest says how many (architecture.last_layer_rows), which the runtime's FLOP count reads."""
        return 3 if self.readout == "last_event" else 1

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        # in float32 also inside float16 blocks: the mean of squares overflows float16 once |x| > 256
        h = as_dtype(x, torch.float32)
        return as_dtype(h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight, x.dtype)


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 also inside float16 blocks, as RMSNorm is."""

    def forward(self, x: Tensor) -> Tensor:
        h = F.layer_norm(as_dtype(x, torch.float32), self.normalized_shape, as_dtype(self.weight, torch.float32),
                         as_dtype(self.bias, torch.float32), self.eps)
        return as_dtype(h, x.dtype)


def make_norm(cfg: "ModelConfig", dim: int) -> nn.Module:
    return LayerNorm(dim) if cfg.norm == "layer" else RMSNorm(dim)


class TimeRotary(nn.Module):
    """Rotation angles from (position, age): pairs [0, P) by position, [P, Dh/2) by time.

    time_scale "log": the time pairs turn with log1p(age in minutes). A query and a key then meet at
    f(age_key) - f(age_query), which depends on the request time as well as on their two times: a
    prefix trained inside a longer history (the dense loss: ages counted from the last target) sees
    other angles than the same prefix served as a request. "linear": pair i turns once per period P_i
    seconds (geometric, 2 minutes .. ~4 years), angle 2 pi (age mod P_i) / P_i, so query and key meet at
    2 pi (t_query - t_key) / P_i: their time difference alone, the same in training and serving. The
    modulo runs on the int64 ages (exact), and only the remainder (< P_i) is cast to float."""

    LINEAR_PERIODS_SECONDS = (120, 4 * 365 * 86400)

    def __init__(self, head_dim: int, time_fraction: float, base: float, time_scale: str = "log",
                 slowest: float = 0.0):
        super().__init__()
        pairs = head_dim // 2
        n_time = int(round(pairs * time_fraction))
        n_pos = pairs - n_time
        self.time_scale = time_scale
        # Position: the usual geometric RoPE frequencies.
        self.register_buffer("inv_freq_pos", base ** (-torch.arange(n_pos, dtype=torch.float32) / max(n_pos, 1)),
                             persistent=False)
        # log1p(age in minutes) spans ~0..13 (a minute .. years): frequencies 1, 1/2, 1/4, ...
        # resolve from "same minute vs hour" down to "week vs year" without wrapping around. Halving, though,
        # leaves pair j >= 6 turning less than 0.2 rad over that whole span; slowest > 0 spreads the pairs
        # geometrically from 1 down to `slowest` instead, so that every pair turns (1/13: one radian over 0..13).
        # On ML-100K the two are level (BENCHMARKS.md, "ML-100K, session 50"), so halving stays the default.
        ratio = slowest ** (1.0 / (n_time - 1)) if slowest > 0 and n_time > 1 else 0.5
        self.register_buffer("inv_freq_time", ratio ** torch.arange(n_time, dtype=torch.float64).float(),
                             persistent=False)
        lo, hi = self.LINEAR_PERIODS_SECONDS
        periods = torch.logspace(math.log10(lo), math.log10(hi), max(n_time, 1), dtype=torch.float64)[:n_time]
        self.register_buffer("periods", periods.round().long(), persistent=False)             # int64 [n_time]
        # matrix_at_age_zero's constants, built once: the angle of each column of R (half-split pairs
        # (i, i + Dh/2) share angle i; at age 0 the time pairs' angles are 0), and R's two patterns.
        self.register_buffer("column_freq", torch.cat([self.inv_freq_pos, torch.zeros(n_time)]).repeat(2),
                             persistent=False)                             # [Dh]
        self.register_buffer("eye", torch.eye(2 * pairs), persistent=False)  # [[I, 0], [0, I]] (cos)
        self.register_buffer("turn", half_turn(pairs), persistent=False)   # [[0, I], [-I, 0]] (sin)

    def forward(self, positions: Tensor, age_seconds: Tensor) -> tuple[Tensor, Tensor]:
        # positions [B, S] float, age_seconds [B, S] int64 (>= 0) -> cos, sin: [B, 1, S, Dh/2] (broadcast over heads)
        if self.time_scale == "linear":
            turns = (age_seconds[..., None] % self.periods).float() / self.periods.float()      # [B, S, n_time]
            time_angles = turns * (2 * math.pi)
        else:
            time_angles = torch.log1p(age_seconds.float() / 60.0)[..., None] * self.inv_freq_time
        angles = torch.cat([positions[..., None] * self.inv_freq_pos, time_angles], dim=-1)
        return angles.cos()[:, None], angles.sin()[:, None]

    def matrix_at_age_zero(self, positions: Tensor) -> Tensor:
        """The rotation of rows at age 0 that all share one position, as one matrix: positions [B, 1]
        -> R [B, 1, Dh, Dh] with apply_rotary(x, *self(positions, 0)) == x @ R. K candidates at one
        place are then rotated by one matrix product instead of the ~8 [K, Dh] kernels of
        apply_rotary (most of a score call's kernels at K = 100, BENCHMARKS.md). Built from constants
        so that the exported graph spends a handful of kernels on it."""
        angles = (positions[..., None] * self.column_freq)[..., None, :]    # [B, 1, 1, Dh]
        return self.eye * angles.cos() + self.turn * angles.sin()


# (cos, sin) [B, 1, S, Dh/2], TimeRotary's output; in the exported encode graph (cos rows, sin rows, position ids),
# the rows the runtime hands in (rotary_rows.py), read by every layer's apply_rotary
Rotation = tuple[Tensor, ...]


class _ReshapeTail(torch.autograd.Function):
    """Export only: ONNX Reshape to the constant shape [0, 0, *tail] (0 keeps that dim of the input)."""

    @staticmethod
    def forward(ctx, x: Tensor, tail: tuple[int, ...]) -> Tensor:
        return x.reshape(*x.shape[:2], *tail)

    @staticmethod
    def symbolic(g, x, tail):
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor([0, 0, *tail], dtype=torch.int64)))


def reshape_tail(x: Tensor, *tail: int) -> Tensor:
    """x [B, S, ...] -> [B, S, *tail] (tail holds one -1). Why not x.reshape(b, s, ...): traced, the
    batch and sequence sizes become a Shape, two Gathers, two Unsqueezes and a Concat in the exported
    graph for every reshape; exported this way the shape is one constant (score graph 204 -> 158 nodes,
    the encode call 3-6 % faster, the score call unchanged: BENCHMARKS.md, "Reshapes to a constant
    shape"). PyTorch's exporter asserts on a 0 without a -1, hence the one -1."""
    if torch.onnx.is_in_onnx_export():
        return _ReshapeTail.apply(x, tail)
    return x.reshape(*x.shape[:2], *tail)


def project_heads(h: Tensor, linear: nn.Linear, parts: int, head_dim: int,
                  activation: Callable[[Tensor], Tensor] | None = None) -> list[Tensor]:
    """h [B, S, D] through a bias-free linear of parts * D outputs (q, k, v or u, v, q, k, each H heads
    of head_dim), then the activation if any -> parts tensors [B, H, S, Dh], head-major.
    Why two forms: in PyTorch one product and views are cheapest; exported, the reshape, transpose and
    split of that product are three kernels that copy it. So the exported graph takes one batched
    product per part, [B, 1, S, D] x a constant [H, D, Dh], which writes [B, H, S, Dh] directly: the
    score call 4-9 % faster (K = 100 to 2048), the encode call 9-10 % (BENCHMARKS.md, "The projections
    straight into head-major layout"). Same sums, same results (the export parity tests)."""
    act = activation or (lambda t: t)
    if torch.onnx.is_in_onnx_export():
        weight = linear.weight.view(parts, -1, head_dim, linear.in_features).transpose(-1, -2)  # [parts, H, D, Dh]
        rows = h.unsqueeze(1)                                               # [B, 1, S, D]
        return [act(rows @ weight[i]) for i in range(parts)]
    heads = linear.out_features // (parts * head_dim)
    return list(act(reshape_tail(linear(h), -1, head_dim)).transpose(1, 2).split(heads, dim=1))


def next_event_ages(ages: Tensor) -> Tensor:
    """[B, N] ages of the history events -> [B, N] the age of each one's successor: the time of the
    prediction made after event i (event i + 1's; the request's, age 0, after the last event)."""
    return F.pad(ages[:, 1:], (0, 1))


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor, position_ids: Tensor | None = None) -> Tensor:
    # x: [B, H, S, Dh]; rotate pair (x_i, x_{i + Dh/2}) by angle i ("half-split" RoPE). With position_ids
    # (the exported encode graph): cos, sin are rows [R, Dh/2], token t of request b reading row position_ids[b, t].
    if position_ids is not None:
        return _RotaryEmbedding.apply(x, cos, sin, position_ids)
    return _rotate_half_split(x, cos, sin)


def _rotate_half_split(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class _RotaryEmbedding(torch.autograd.Function):
    """Export only: apply_rotary as one com.microsoft.RotaryEmbedding kernel (ONNX Runtime's, half-split pairs
    as here) per rotated tensor, x [B, H, S, Dh]. That kernel looks each token's angles up in a cache by a
    position id; here the cache is this call's own rows, which the runtime makes (rotary_rows.py; until session 46 the
    graph made them, ~45 kernels, BENCHMARKS.md "Session 46"). Earlier forms: chunk and cat
    as a shape computation, two slices, two products each half and a concat; then x * [cos, cos] + (x @ [[0, I],
    [-I, 0]]) * [sin, sin], a [S, Dh] x [Dh, Dh] product among four kernels (a Split and Concat swap in its place,
    tried: slower than this one kernel; BENCHMARKS.md, "Session 42: the encode call within 2×")."""

    @staticmethod
    def forward(ctx, x: Tensor, cos_rows: Tensor, sin_rows: Tensor, position_ids: Tensor) -> Tensor:
        return _rotate_half_split(x, cos_rows[position_ids][:, None], sin_rows[position_ids][:, None])

    @staticmethod
    def symbolic(g, x, cos_rows, sin_rows, position_ids):
        out = g.op("com.microsoft::RotaryEmbedding", x, position_ids, cos_rows, sin_rows, interleaved_i=0)
        out.setType(x.type())
        return out


def half_turn(pairs: int) -> Tensor:
    """[[0, I], [-I, 0]] of 2 * pairs rows: x @ it = the half-split rotary's (-x2, x1), the sin part of
    a rotation (TimeRotary.turn)."""
    eye, zero = torch.eye(pairs), torch.zeros(pairs, pairs)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)


def with_past(k: Tensor, v: Tensor, past: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
    """A layer's keys and values [B, H, S, Dh] after those of P tokens run before: [B, H, P + S, Dh]."""
    if past is None:
        return k, v
    return torch.cat([as_dtype(past[0], k.dtype), k], dim=-2), torch.cat([as_dtype(past[1], v.dtype), v], dim=-2)


def last_queries(rows: int | None, *per_query: Tensor | None) -> tuple[Tensor | None, ...]:
    """Each tensor ([..., S, X], one row per query token) cut to its last `rows` queries; all of them with rows None.
    The encode's last layer: its keys and values are every token's (the cache), but only RET and the last event
    are read from its output, so the attention rows, the output projection and the MLP of the other tokens are
    never needed (at 4 layers about a fifth of the encode's matrix work)."""
    if rows is None:
        return per_query
    return tuple(None if t is None else t[..., -rows:, :] for t in per_query)


def time_bucket(age_seconds: Tensor, num_buckets: int) -> Tensor:
    """int64 ages (or int64 age differences) -> bucket floor(3 * log1p(|d| / 60)) in [0, num_buckets)."""
    minutes = age_seconds.abs().float() / 60.0   # cast after the int64 difference
    return torch.floor(torch.log1p(minutes) * 3.0).long().clamp(0, num_buckets - 1)


class CandidateCache(NamedTuple):
    """One layer's history cache as the M-FALCON candidate stream reads it, with one extra key slot
    T + 1 that stands for each candidate's own key. A candidate's query carries its dot product with
    its own key in an extra column that only slot T + 1 reads, so a layer's [K, T + 1] scores come
    out of one matrix product. (Joining [K, T] scores with the own score afterwards and splitting
    the probabilities again copied the largest tensor of the score graph twice per layer.)
    When all candidates share one mask (serving: cache_mask [B, T]) the mask rides in the product
    too: a last key column holds MASK_KEY for a hidden key (0 for a visible one), met by a constant 1
    in the query, which saves a pass over the [K, T + 1] scores per layer (BENCHMARKS.md, "The mask
    inside the score product"). Built once per call for all layers (from_cache)."""
    keys: Tensor      # [B, H, T + 1, Dh + 1 or 2]: cached (rotated) keys; column Dh: 0, and 1 in slot T + 1;
                      # column Dh + 1 (shared mask only): MASK_KEY where hidden, else 0
    values: Tensor    # [B, H, T + 1, Dh]: cached values; slot T + 1 = 0 (the own value is added apart)
    add: Tensor | None  # [B, 1, K, T + 1] float32 for a mask per candidate: 0 visible, NEG_INF masked; else None
    visible: Tensor   # [B, 1, K or 1, T + 1] float32: 1 visible, 0 masked

    @staticmethod
    def from_cache(cache_keys: Tensor, cache_values: Tensor, cache_mask: Tensor, head_dim: int) -> list["CandidateCache"]:
        # cache_keys/values: [L, B, H, T, Dh] (block dtype); cache_mask [B, T] or [B, K, T]. head_dim
        # and the pad widths as Python ints: a traced shape would cost the exported graph a chain of
        # shape kernels.
        shared = cache_mask.dim() == 2
        mask = cache_mask if shared else cache_mask[:, 0]                   # [B, T] (per candidate: only its shape is used)
        own, hidden_keys = CandidateCache.slot_columns(mask)
        hidden = [hidden_keys] if shared else []
        columns = F.pad(torch.stack([own] + hidden, -1), (head_dim, 0))[:, None]  # [B, 1, T + 1, Dh + 1 or 2]
        keys = F.pad(cache_keys, (0, 1 + len(hidden), 0, 1)) + as_dtype(columns, cache_keys.dtype)  # [L, B, H, T + 1, Dh + 1 or 2]
        values = F.pad(cache_values, (0, 0, 0, 1))                          # [L, B, H, T + 1, Dh]
        visible = F.pad(cache_mask[:, None] if shared else cache_mask, (0, 1), value=1.0)[:, None]  # [B, 1, K or 1, T + 1]
        add = None if shared else (1.0 - visible) * NEG_INF
        return [CandidateCache(k, v, add, visible) for k, v in zip(keys.unbind(0), values.unbind(0))]

    @staticmethod
    def slot_columns(mask: Tensor) -> tuple[Tensor, Tensor]:
        """cache_mask [B, T] -> the two key columns the cache gets over its T + 1 slots, [B, T + 1]
        each: the own-key marker (1 in slot T + 1 only) and MASK_KEY where a key is hidden (else 0)."""
        return F.pad(torch.zeros_like(mask), (0, 1), value=1.0), F.pad(torch.where(mask > 0, 0.0, MASK_KEY), (0, 1))

    @staticmethod
    def slot_masks(mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """cache_mask [B, T] -> the served encode's masks over its T + 1 slots: the attention mask's padding row
        [B, 1, 1, T + 1] (0, NEG_INF at padding), the keep mask [B, 1, T + 1, 1] (0 in the own slot), the keys' two
        extra columns [B, 1, T + 1, 2] (slot_columns). The exported graph takes them from the runtime
        (encoding.slot_inputs makes them with this function)."""
        own_slot, hidden_keys = CandidateCache.slot_columns(mask)           # [B, T + 1] each
        key_padding = torch.where(F.pad(mask, (0, 1), value=1.0) > 0, 0.0, NEG_INF)[:, None, None, :]
        return key_padding, (1.0 - own_slot)[:, None, :, None], torch.stack([own_slot, hidden_keys], -1)[:, None]

    @staticmethod
    def from_served(keys: Tensor, values: Tensor) -> "CandidateCache":
        """One layer of the cache as the exported encode graph hands it out (GenRecModel.encode_served:
        a shared mask, already in this layout) -> the score graph's cache with no copy. Visibility is
        read back from the mask column, for the HSTU block's count; the softmax block needs none."""
        visible = as_dtype(keys[:, :1, None, :, -1] == 0, torch.float32)    # [B, 1, 1, T + 1]
        return CandidateCache(keys, values, None, visible)

    def scores(self, q_rotated: Tensor, q: Tensor, k: Tensor, scale: float) -> Tensor:
        """scale * q.k with every cached key and, in slot T + 1, with the candidate's own key, masked:
        [B, H, K, Dh] x3 -> float32 [B, H, K, T + 1]. The own pair needs no rotation: a candidate's
        query and key share one angle, and a rotation keeps their dot product."""
        own_scores = (q * k).sum(-1, keepdim=True)                          # [B, H, K, 1]
        query = torch.cat([q_rotated, own_scores], -1)                      # [B, H, K, Dh + 1]
        if self.add is None:
            query = F.pad(query, (0, 1), value=1.0)                         # [B, H, K, Dh + 2]: the 1 meets the mask column
        scores = as_dtype(query @ self.keys.transpose(-1, -2), torch.float32) * scale
        return scores if self.add is None else scores + self.add

    def attend(self, weights: Tensor, v: Tensor) -> Tensor:
        """[B, H, K, T + 1] weights (slot T + 1: the own key's) x values -> [B, H, K, Dh]."""
        return weights @ self.values + weights[..., -1:] * v


class Block(nn.Module):
    """Pre-norm Llama block. forward() = causal self-attention over the sequence;
    forward_candidates() = the M-FALCON stream over a cached sequence."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads, self.head_dim = cfg.heads, cfg.head_dim
        self.attn_norm = make_norm(cfg, cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.mlp_norm = make_norm(cfg, cfg.d_model)
        gelu = cfg.mlp == "gelu"
        self.gate = None if gelu else nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=gelu)
        self.down = nn.Linear(cfg.mlp_hidden, cfg.d_model, bias=gelu)
        self.drop = nn.Dropout(cfg.dropout)
        self.attn_drop = nn.Dropout(cfg.attention_dropout)

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # not rotated yet: the candidate stream rotates only its queries (forward_candidates)
        h = as_dtype(self.attn_norm(x), self.qkv.weight.dtype)               # float16 in a float16 block
        q, k, v = project_heads(h, self.qkv, 3, self.head_dim)              # each [B, H, S, Dh]
        return q, k, v

    def _residual(self, x: Tensor, attn: Tensor) -> Tensor:
        # the residual stream keeps its own dtype (float32) when the block computes in float16
        x = x + as_dtype(self.drop(self.out(reshape_tail(attn.transpose(1, 2), -1))), x.dtype)  # [B, S, D]
        h = as_dtype(self.mlp_norm(x), self.up.weight.dtype)
        return x + as_dtype(self.drop(self._mlp(h)), x.dtype)

    def _mlp(self, h: Tensor) -> Tensor:
        if self.gate is None:  # SASRec's feed-forward: dropout inside as well as on the branch
            return self.down(self.drop(F.gelu(self.up(h))))
        return self.down(F.silu(self.gate(h)) * self.up(h))

    def forward(self, x: Tensor, q_turn: Rotation, k_turn: Rotation, mask_add: Tensor, allowed: Tensor | None,
                bias: Tensor | None = None, past: tuple[Tensor, Tensor] | None = None,
                rows: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        # x: [B, S, D]; q_turn, k_turn: the rotations (Rotation) of the queries and the keys;
        # mask_add: [B, 1, S, P + S] (0 allowed, NEG_INF masked); bias: [B, H, S, P + S] or None;
        # past: this layer's keys and values [B, H, P, Dh] of P tokens run before (P = 0 without);
        # rows: only the last `rows` tokens' outputs are computed (last_queries): x out [B, rows, D]
        q, k, v = self._qkv(x)
        q, k = apply_rotary(q, *q_turn), apply_rotary(k, *k_turn)
        k, v = with_past(k, v, past)
        q, x, mask_add, bias = last_queries(rows, q, x, mask_add, bias)
        # Scores, mask and softmax in float32 also in a float16 block: in float16 a row whose keys
        # are all masked (a padding query) is no longer uniform, the mask's rounding picks a key.
        scores = as_dtype(q @ k.transpose(-1, -2), torch.float32) * self.head_dim ** -0.5 + mask_add
        # scores: [B, H, S, P + S]
        if bias is not None:
            scores = scores + bias
        attn = as_dtype(self.attn_drop(scores.softmax(-1)), v.dtype) @ v    # [B, H, S, Dh]
        return self._residual(x, attn), k, v

    def forward_candidates(self, x: Tensor, rotate: Callable[[Tensor], Tensor], cache: CandidateCache) -> Tensor:
        # x: [B, K, D]; rotate: the candidates' rotary, for their queries to meet the rotated cached keys
        q, k, v = self._qkv(x)                                              # [B, H, K, Dh]
        scores = cache.scores(rotate(q), q, k, self.head_dim ** -0.5)
        p = as_dtype(self.attn_drop(scores.softmax(-1)), v.dtype)           # [B, H, K, T + 1]
        attn = cache.attend(p, v)                                           # [B, H, K, Dh]
        return self._residual(x, attn)


class HSTUBlock(nn.Module):
    """HSTU layer (Zhai et al. 2024): U, V, Q, K = split(SiLU(W_1 norm(x))); A = SiLU(q.k / sqrt(Dh)
    + bias) masked, divided by the number of keys the query may see (so padding changes nothing);
    x + W_2(norm(A V) * U). Same interface and cache as Block."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads, self.head_dim, d = cfg.heads, cfg.head_dim, cfg.d_model
        self.attn_norm = make_norm(cfg, d)
        self.uvqk = nn.Linear(d, 4 * d, bias=False)
        self.av_norm = make_norm(cfg, d)
        self.out = nn.Linear(d, d, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.attn_drop = nn.Dropout(cfg.attention_dropout)

    def _uvqk(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        # not rotated yet, as Block._qkv
        h = as_dtype(self.attn_norm(x), self.uvqk.weight.dtype)              # float16 in a float16 block
        u, v, q, k = project_heads(h, self.uvqk, 4, self.head_dim, F.silu)  # each [B, H, S, Dh]
        return u, q, k, v

    def _residual(self, x: Tensor, attn: Tensor, u: Tensor) -> Tensor:
        a = self.av_norm(reshape_tail(attn.transpose(1, 2), -1))            # [B, S, D]
        return x + as_dtype(self.drop(self.out(a * reshape_tail(u.transpose(1, 2), -1))), x.dtype)

    def forward(self, x: Tensor, q_turn: Rotation, k_turn: Rotation, mask_add: Tensor, allowed: Tensor,
                bias: Tensor | None = None, past: tuple[Tensor, Tensor] | None = None,
                rows: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        u, q, k, v = self._uvqk(x)
        q, k = apply_rotary(q, *q_turn), apply_rotary(k, *k_turn)
        k, v = with_past(k, v, past)
        u, q, x, allowed, bias = last_queries(rows, u, q, x, allowed, bias)
        scores = q @ k.transpose(-1, -2) * self.head_dim ** -0.5            # [B, H, S, P + S]
        if bias is not None:
            scores = scores + bias
        allowed_f = allowed.to(scores.dtype)                                # [B, 1, S, P + S]
        w = self.attn_drop(F.silu(scores) * allowed_f / allowed_f.sum(-1, keepdim=True).clamp(min=1.0))
        return self._residual(x, as_dtype(w, v.dtype) @ v, u), k, v

    def forward_candidates(self, x: Tensor, rotate: Callable[[Tensor], Tensor], cache: CandidateCache) -> Tensor:
        u, q, k, v = self._uvqk(x)                                          # [B, H, K, Dh]; as Block's
        w = self.attn_drop(F.silu(cache.scores(rotate(q), q, k, self.head_dim ** -0.5)) * cache.visible)  # [B, H, K, T + 1]
        count = cache.visible.sum(-1, keepdim=True)                         # visible keys incl. its own
        attn = as_dtype(cache.attend(as_dtype(w, v.dtype), v) / count, v.dtype)
        return self._residual(x, attn, u)


class GenRecModel(nn.Module):
    def __init__(self, cfg: ModelConfig, item_tokens: Tensor):
        super().__init__()
        assert item_tokens.shape == (cfg.num_items + 1, cfg.max_item_tokens)
        self.cfg = cfg
        d = cfg.d_model
        self.item_id_emb = nn.Embedding(cfg.num_items + 1, d)
        self.token_emb = nn.Embedding(cfg.vocab_size, d, padding_idx=0)  # [PAD] row stays exactly 0
        self.action_emb = nn.Embedding(cfg.num_actions + 1, d)
        self.type_emb = nn.Embedding(4, d)
        self.register_buffer("item_tokens", item_tokens.long())            # [I + 1, MT] constant
        self.rotary = TimeRotary(cfg.head_dim, cfg.time_rope_fraction, cfg.rope_base, cfg.time_scale,
                                 cfg.time_rope_slowest)
        block_cls = HSTUBlock if cfg.block == "hstu" else Block
        self.blocks = nn.ModuleList(block_cls(cfg) for _ in range(cfg.layers))
        if cfg.time_signal == "bucket":  # learned per-head bias per time bucket (zero-initialized)
            self.time_bias = nn.Parameter(torch.zeros(cfg.time_buckets, cfg.heads))
        if cfg.absolute_time_buckets > 0:
            self.absolute_time_emb = nn.Embedding(cfg.absolute_time_buckets, d)
            nn.init.normal_(self.absolute_time_emb.weight, std=cfg.position_init_std)
        if cfg.recency_positions > 0:
            self.recency_emb = nn.Embedding(cfg.recency_positions, d)
            nn.init.normal_(self.recency_emb.weight, std=cfg.position_init_std)
        self.input_drop = nn.Dropout(cfg.dropout)
        self.final_norm = make_norm(cfg, d)
        # Tied: the final state is compared with the items' own input representations, as SASRec
        # does (its output softmax reuses the input embedding table).
        self.user_head = nn.Identity() if cfg.tied_embeddings else nn.Linear(d, cfg.embedding_dim)
        self.item_head = nn.Identity() if cfg.tied_embeddings else nn.Linear(d, cfg.embedding_dim)
        self.rank_head = nn.Linear(d, 1)
        nn.init.normal_(self.item_id_emb.weight, std=cfg.item_init_std)
        for emb in (self.token_emb, self.action_emb, self.type_emb):
            nn.init.normal_(emb.weight, std=0.1)
        with torch.no_grad():
            self.token_emb.weight[0].zero_()

    # ---- 1-2. items, text, events ----------------------------------------------------------
    def text_embedding(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        # tokens: [..., Q] -> mean embedding of non-pad tokens [..., D], has_text [...].
        # [PAD]'s embedding row is zero (padding_idx), so summing over all Q slots adds nothing
        # for padding: any amount of query padding gives the same result.
        count = (tokens != 0).sum(-1, keepdim=True).float()                # [..., 1]
        total = self.token_emb(tokens).sum(-2)                              # [..., D]
        return total / count.clamp(min=1.0), count.squeeze(-1) > 0

    def item_repr(self, items: Tensor, table: Tensor | None = None) -> Tensor:
        # items: [...] -> [..., D]. The exported graphs compute only the rows they need (cost
        # independent of catalogue size); training passes a precomputed item_table() instead,
        # which is the same per-row arithmetic done once per step.
        if table is not None:
            return table[items]
        if not self.cfg.item_text:
            return self.item_id_emb(items)
        return self.item_id_emb(items) + self.text_embedding(self.item_tokens[items])[0]

    def item_table(self, id_dropout: float = 0.0) -> Tensor:
        """repr of every item index (row 0 = padding): [I + 1, D]. The same values as
        item_repr(all items), with the text part as one sparse [I + 1, V] x [V, D] product: its cost
        follows the real tokens, not the padded [I + 1, max_item_tokens] slots (a catalogue
        without text costs nothing; gathering every slot was 60 % of a Beauty training step).
        id_dropout (training, with item text): each item's id row is left out with this probability, whole
        and not rescaled, so that item is, for this step, what an item added after training is: its text alone
        (cold_item_embeddings). Without it the text part never has to work alone."""
        if not self.cfg.item_text:
            return self.item_id_emb.weight
        ids = self.item_id_emb.weight                                       # [I + 1, D]
        if id_dropout and self.training:
            ids = ids * (torch.rand(ids.shape[0], 1, device=ids.device) >= id_dropout)
        return ids + self.text_table()

    def text_table(self) -> Tensor:
        """The text half of every item's repr, [I + 1, D]: what an item is without its id row, as an item added
        after training is (models with item text)."""
        return torch.sparse.mm(self._text_mean_matrix(), self.token_emb.weight)

    def _text_mean_matrix(self) -> Tensor:
        # [I + 1, V] sparse: row i holds 1/count at each of item i's tokens (repeats add up), so
        # row i @ token_emb = the mean of its token embeddings, as text_embedding computes it.
        cached = getattr(self, "_text_mean_cache", None)
        if cached is None or cached.device != self.item_tokens.device:
            tokens = self.item_tokens                                        # [I + 1, MT]
            count = (tokens != 0).sum(-1, keepdim=True).clamp(min=1).float()
            rows, slots = (tokens != 0).nonzero(as_tuple=True)
            values = (1.0 / count).expand_as(tokens.float())[rows, slots]
            cached = torch.sparse_coo_tensor(torch.stack([rows, tokens[rows, slots]]), values,
                                             (tokens.shape[0], self.cfg.vocab_size), check_invariants=True).coalesce()
            self._text_mean_cache = cached
        return cached

    def item_embeddings(self, items: Tensor, table: Tensor | None = None) -> Tensor:
        """Retrieval embedding of items: [...] -> [..., E] (L2-normalized for cosine)."""
        return self._retrieval_space(self.item_head(self.item_repr(items, table)))

    def cold_item_embeddings(self, tokens: Tensor) -> Tensor:
        """Retrieval embedding of an item no one has interacted with, from its title/category tokens alone:
        [..., MT] -> [..., E]. An item added after training has no learned id row, so the text half of
        repr() is all it has; evaluate's cold_* metrics measure how well that retrieves it."""
        return self._retrieval_space(self.item_head(self.text_embedding(tokens)[0]))

    def cold_candidate_rows(self, tokens: Tensor) -> Tensor:
        """An item added after training as a ranking candidate: its text-only repr as it enters the candidate
        stream, [..., MT] -> [..., D]; score_rows_served() ranks it beside trained items (evaluate's cold_blend_*)."""
        return self._as_candidate(self.text_embedding(tokens)[0])

    def _retrieval_space(self, embedding: Tensor) -> Tensor:
        return F.normalize(embedding, dim=-1) if self.cfg.similarity == "cosine" else embedding

    # ---- 3-6. encode: history + request context -> retrieval embedding + KV cache ----------
    def encode(self, history_items: Tensor, history_actions: Tensor, history_age_seconds: Tensor,
               history_query_tokens: Tensor, query_tokens: Tensor,
               item_table: Tensor | None = None, hidden: list | None = None,
               history_item_tokens: Tensor | None = None, request_time: Tensor | None = None,
               ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """-> retrieval embedding [B, E], cache keys and values [L, B, H, T, Dh], cache_mask [B, T].
        hidden: training only; when a list is given, the user-head output at every history
        position [B, N, E] (in the retrieval space) is appended to it (the dense next-item loss).
        history_item_tokens [B, N, MT] (models with item text, trained with --item-id-dropout): the title/category
        tokens of history events whose item was added after training (item index 0, not padding, where a token is
        given): such an event is read with its item's text alone, as --item-id-dropout trains (the runtime otherwise
        has to leave it out). request_time [B] int64 seconds since the epoch: models with absolute_time_buckets only."""
        user, keys, values, mask = self._encode(history_items, history_actions, history_age_seconds,
                                                history_query_tokens, query_tokens, item_table, hidden, history_item_tokens,
                                                request_time)
        return (user, torch.stack([k[:, :, :-1] for k in keys]),            # drop RET: [L, B, H, T, Dh]
                torch.stack([v[:, :, :-1] for v in values]), mask)

    def encode_served(self, history_items: Tensor, history_actions: Tensor, history_age_seconds: Tensor,
                      history_query_tokens: Tensor, query_tokens: Tensor,
                      item_table: Tensor | None = None, history_item_tokens: Tensor | None = None,
                      request_time: Tensor | None = None, rotation: Rotation | None = None,
                      slots: tuple[Tensor, Tensor, Tensor] | None = None) -> tuple[Tensor, ...]:
        """encode() as the exported encode graph runs it, the cache in the layout score_served() reads,
        one tensor per layer: -> embedding [B, E], L keys [B, H, T + 1, Dh + 2], L values
        [B, H, T + 1, Dh], cache_mask [B, T]. Keys are rotated as seen from the candidates' place: every
        candidate sits at the request's place (RET's, position #real history + 1, age 0), so the positions
        are counted from there, which turns every query and key by one constant angle per request and
        leaves the attention as it was (a rotary meets q and k at their difference); a candidate then sits
        at angle 0 and the score graph rotates nothing. (Until session 42 the keys were rotated from
        position 0 and turned by R^T afterwards: one [T, Dh] x [Dh, Dh] product per layer.)
        Slot T + 1, RET's until here, becomes the own-key slot (key and value 0, key column Dh = 1), and
        key column Dh + 1 holds MASK_KEY at padded positions (CandidateCache). Why here: made per score
        call, these pads and the split by layer were about five copies of the cache, 5-10 % of a K = 100
        call (BENCHMARKS.md, "The cache in the score graph's layout"); here they are made once per request.
        The graph passes item_table() as a constant, so a history item's representation is one row
        gathered, not its id row plus the mean of its title tokens (BENCHMARKS.md, "The history items'
        rows from a table").
        rotation: the rotary rows (rotary_rows.py) as the exported graph takes them from the runtime; without it they
        are computed here, the same to float32 rounding. slots: (key padding, slot keep, slot columns), the exported
        graph's other inputs from the runtime (encoding.slot_inputs), else made here from the mask, the same."""
        key_padding, keep, columns = (None, None, None) if slots is None else slots
        user, keys, values, mask = self._encode(history_items, history_actions, history_age_seconds,
                                                history_query_tokens, query_tokens, item_table,
                                                history_item_tokens=history_item_tokens, request_time=request_time,
                                                at_candidates_place=True, rotation=rotation, key_padding=key_padding)
        if slots is None:
            _, keep, columns = CandidateCache.slot_masks(mask)              # [B, 1, T + 1, 1], [B, 1, T + 1, 2]
        served_keys = [torch.cat([k * keep, columns.expand(-1, self.cfg.heads, -1, -1)], -1) for k in keys]
        return (user, *served_keys, *(v * keep for v in values), mask)

    def _encode(self, history_items: Tensor, history_actions: Tensor, history_age_seconds: Tensor,
                history_query_tokens: Tensor, query_tokens: Tensor, item_table: Tensor | None = None,
                hidden: list | None = None, history_item_tokens: Tensor | None = None,
                request_time: Tensor | None = None, at_candidates_place: bool = False,
                rotation: Rotation | None = None, key_padding: Tensor | None = None,
                ) -> tuple[Tensor, list[Tensor], list[Tensor], Tensor]:
        # -> embedding [B, E], per layer keys and values [B, H, T + 1, Dh] (slot T + 1: RET's), cache_mask [B, T]
        # at_candidates_place: positions counted from RET's (encode_served)
        new_items = None
        if history_item_tokens is not None:  # events of items added after training: index 0, their text given
            new_items = (history_items == 0) & (history_item_tokens != 0).any(-1)  # [B, N]
        valid = history_items > 0 if new_items is None else (history_items > 0) | new_items  # [B, N]
        hist = self._history_tokens(history_items, history_actions, history_query_tokens, item_table,
                                    valid, None if new_items is None else (new_items, history_item_tokens),
                                    self._prediction_times(request_time, history_age_seconds))  # [B, N, D]
        q_mean, has_query = self.text_embedding(query_tokens)               # [B, D], [B]
        ctx = torch.where(has_query[:, None], q_mean + self.type_emb.weight[TYPE_QUERY],
                          self.type_emb.weight[TYPE_NO_QUERY].expand_as(q_mean))  # [B, D]
        ret = self.type_emb.weight[TYPE_RET].expand_as(q_mean)              # [B, D]
        x = torch.cat([hist, ctx[:, None], ret[:, None]], dim=1)            # [B, S = N + 2, D]

        # Positions count real events only, so left padding does not move anything.
        n_real = valid.long().sum(1, keepdim=True)                          # [B, 1]
        pos_hist = self._event_positions(valid, history_age_seconds)        # [B, N]
        positions = torch.cat([pos_hist, n_real, n_real + 1], dim=1)        # [B, S]
        if at_candidates_place:
            positions = positions - (n_real + 1)                            # RET's place: 0
        if torch.onnx.is_in_onnx_export():  # one fill and one Trilu kernel; see _run_blocks
            causal = torch.full((x.shape[1], x.shape[1]), NEG_INF, device=x.device).triu(1)  # [S, S]: 0 or NEG_INF
        else:
            idx = torch.arange(x.shape[1], device=x.device)
            causal = idx[None, :] <= idx[:, None]                           # [S, S]
        # What is read from the last layer: every position for the dense loss (hidden), else RET (and the last event)
        read_rows = None if hidden is not None else self.cfg.encode_read_rows
        x, keys, values = self._run_blocks(x, positions, history_age_seconds, valid, causal, extra_tokens=2,
                                           rotation=rotation, key_padding=key_padding, last_layer_rows=read_rows)
        if hidden is not None:
            hidden.append(self._retrieval_space(self.user_head(self.final_norm(x[:, :-2]))))  # [B, N, E]
        user = self.user_head(self.final_norm(x[:, -1]))                    # [B, E] at RET
        if self.cfg.readout == "last_event":  # left padding keeps the last event at column N - 1 (x[:, -3])
            last = self.user_head(self.final_norm(x[:, -3]))                # [B, E]
            user = torch.where(has_query[:, None], user, last)
        one = torch.ones_like(valid[:, :1])
        return self._retrieval_space(user), keys, values, torch.cat([valid, one], dim=1).float()  # cache_mask [B, T]

    def prefix_users(self, history_items: Tensor, history_actions: Tensor, history_age_seconds: Tensor,
                     history_query_tokens: Tensor, item_table: Tensor | None = None,
                     next_query_tokens: Tensor | None = None,
                     events: tuple[Tensor, Tensor, Tensor] | None = None, request_time: Tensor | None = None) -> Tensor:
        """Training only: the retrieval embedding after EVERY history prefix: [B, N] -> [B, N, E],
        row i = encode() of the history cut after event i (same ages; with query_time "next" and the
        linear time scale, ages counted from event i + 1, the request made then), with no query, or with
        next_query_tokens[:, i] [B, N, Q] where that is given and not all padding (the query of the
        search that led to event i + 1: the dense loss then trains search requests too).
        Two passes. The events, causally, as encode() runs them (an event never sees what follows it).
        Then one ctx/RET pair per prefix read at RET, [ctx_1 .. ctx_M | RET_1 .. RET_M], over the
        events' per-layer keys and values: ctx_k sees its prefix's events and itself, RET_k those,
        ctx_k and itself, with the positions encode() gives them (i, i + 1). With readout "ret" every
        prefix is read at RET (M = N); with "last_event" only those followed by a query are, the others
        at their last event (the first pass's output). events: encode()'s cache keys and values
        [L, B, H, T, Dh] and history readouts [B, N, E] (hidden) from the same step: the first pass is
        then not run again, so a search batch costs the causal pass plus 2M rows. This is how SASRec
        trains (every position predicts the next item) but read where inference reads. Trained only on
        the full prefix, RET memorizes one prefix per user (BENCHMARKS.md)."""
        valid = history_items > 0                                           # [B, N]
        b, n = history_items.shape
        index = (valid.long().cumsum(1) - 1).clamp(min=0)                   # [B, N]: each event's index among the real ones
        j = torch.arange(n, device=valid.device)
        if events is None:
            hist = self._history_tokens(history_items, history_actions, history_query_tokens, item_table,
                                        prediction_times=self._prediction_times(request_time, history_age_seconds))
            x, keys, values = self._run_blocks(hist, self._event_positions(valid, history_age_seconds), history_age_seconds,
                                               valid, j[None, :] <= j[:, None], extra_tokens=0)
            event_reads = self._retrieval_space(self.user_head(self.final_norm(x)))  # [B, N, E]
        else:
            cache_keys, cache_values, event_reads = events
            keys, values = [k[:, :, :n] for k in cache_keys], [v[:, :, :n] for v in cache_values]
        if next_query_tokens is None:
            next_query_tokens = torch.zeros_like(history_query_tokens)
        q_mean, has_query = self.text_embedding(next_query_tokens)          # [B, N, D], [B, N]
        at_ret = valid & has_query if self.cfg.readout == "last_event" else valid  # [B, N]: prefixes read at RET
        m = int(at_ret.sum(1).max())
        if m == 0:
            return event_reads
        # slot k of a row: its k-th prefix read at RET, in order; a row with fewer fills its last slots
        # with other prefixes (distinct: a permutation's head), computed but never read
        slot = torch.argsort((~at_ret).to(torch.int8), dim=1, stable=True)[:, :m]  # [B, M] prefix index
        ctx = torch.where(has_query[..., None], q_mean + self.type_emb.weight[TYPE_QUERY],
                          self.type_emb.weight[TYPE_NO_QUERY].expand(b, n, -1))  # [B, N, D], as in encode()
        ctx = ctx.gather(1, slot[..., None].expand(-1, -1, ctx.shape[-1]))  # [B, M, D]
        x = torch.cat([ctx, self.type_emb.weight[TYPE_RET].expand(b, m, -1)], dim=1)  # [B, 2M, D]
        pos_slot = index.gather(1, slot)                                    # [B, M]
        positions = torch.cat([pos_slot + 1, pos_slot + 2], dim=1)          # [B, 2M]: encode()'s #real events, + 1
        upto_slot = j[None, None, :] <= slot[..., None]                     # [B, M, N]: event j within slot k's prefix
        eye = torch.eye(m, dtype=torch.bool, device=x.device).expand(b, m, m)
        none = torch.zeros_like(eye)
        structure = torch.cat([torch.cat([upto_slot, eye, none], 2),        # ctx_k: its prefix, ctx_k
                               torch.cat([upto_slot, eye, eye], 2)], 1)     # RET_k: its prefix, ctx_k, RET_k
        slot_ages = None
        if self.cfg.query_time == "next":  # prefix k's request was made at event k + 1's time (age 0 for the last)
            next_ages = next_event_ages(history_age_seconds.clamp(min=0))   # [B, N]
            slot_ages = next_ages.gather(1, slot).repeat(1, 2)              # [B, 2M]: ctx_k and RET_k
        x, _, _ = self._run_blocks(x, positions, history_age_seconds, valid, structure, extra_tokens=2 * m,
                                   past=(keys, values), extra_ages=slot_ages)
        at_slot = self._retrieval_space(self.user_head(self.final_norm(x[:, m:])))  # [B, M, E] read at RET_k
        read = torch.zeros_like(event_reads).scatter(1, slot[..., None].expand(-1, -1, at_slot.shape[-1]), at_slot)
        return torch.where(at_ret[..., None], read, event_reads)            # [B, N, E]

    def _event_positions(self, valid: Tensor, history_age_seconds: Tensor) -> Tensor:
        """Each history event's rotary position [B, N]: the number of real events before it, or with
        tie_positions before its timestamp. Events come in time order, so with ties those are the real
        events with a larger age: an event's position depends on earlier events only, as causal
        attention and prefix_users need, and left padding moves nothing."""
        if not self.cfg.tie_positions:
            return (valid.long().cumsum(1) - 1).clamp(min=0)
        older = history_age_seconds[:, None, :] > history_age_seconds[:, :, None]  # [B, N (event), N (other)]
        return (older & valid[:, None, :]).long().sum(-1)

    def _prediction_times(self, request_time: Tensor | None, history_age_seconds: Tensor) -> Tensor | None:
        """[B] request times, [B, N] ages -> [B, N] int64: when the prediction made at each event is made (the next
        event's time, the request's for the last event), for the absolute-time embedding; None without one."""
        if self.cfg.absolute_time_buckets <= 0:
            return None
        if request_time is None:
            raise ValueError("this model reads absolute time: encode() needs request_time")
        return request_time[:, None] - next_event_ages(history_age_seconds.clamp(min=0))

    def absolute_time_bucket(self, times: Tensor) -> Tensor:
        """int64 seconds since the epoch -> bucket index: whole widths since the origin, computed in int64, clamped to
        the trained buckets (a request after the training log's end reads the last one)."""
        cfg = self.cfg
        return torch.div(times - cfg.absolute_time_origin, cfg.absolute_time_width, rounding_mode="floor").clamp(
            0, cfg.absolute_time_buckets - 1)

    def _history_tokens(self, history_items: Tensor, history_actions: Tensor, history_query_tokens: Tensor,
                        item_table: Tensor | None, valid: Tensor | None = None,
                        new_items: tuple[Tensor, Tensor] | None = None, prediction_times: Tensor | None = None) -> Tensor:
        # event token = item repr + action + mean(query tokens of the event) [+ recency]: [B, N, D]
        # new_items: ([B, N] which events are of items added after training, their item tokens [B, N, MT]): their
        # repr is their text's alone, what an item's repr is when --item-id-dropout drops its id row.
        if valid is None:
            valid = history_items > 0
        if not self.cfg.action_input:
            history_actions = history_actions.clamp(max=1)  # every real event action 1, padding stays 0
        items = self.item_repr(history_items, item_table)                  # [B, N, D]
        if new_items is not None:
            items = torch.where(new_items[0][..., None], self.text_embedding(new_items[1])[0], items)
        tokens = items * self.cfg.input_scale + self.action_emb(history_actions) + self.text_embedding(history_query_tokens)[0]
        if self.cfg.recency_positions > 0:
            # rank from the latest event (0) backwards, counted over real events only; the oldest
            # ranks share the last embedding. Not prefix-consistent (a prefix's latest event has rank
            # > 0), which is SASRec's right-aligned positions: train it with readout="last_event".
            rank = valid.long().sum(1, keepdim=True) - valid.long().cumsum(1)            # [B, N]
            recency = self.recency_emb(rank.clamp(0, self.cfg.recency_positions - 1))
            tokens = tokens + recency * valid[..., None]
        if prediction_times is not None:
            # when the prediction at this event is made: what was popular then, which relative ages cannot say
            tokens = tokens + self.absolute_time_emb(self.absolute_time_bucket(prediction_times)) * valid[..., None]
        return tokens

    def _run_blocks(self, x: Tensor, positions: Tensor, history_age_seconds: Tensor, valid: Tensor,
                    structure: Tensor, extra_tokens: int, past: tuple[list, list] | None = None,
                    extra_ages: Tensor | None = None, rotation: Rotation | None = None,
                    key_padding: Tensor | None = None, last_layer_rows: int | None = None) -> tuple[Tensor, list, list]:
        """The backbone over [N history tokens | extra_tokens context/task tokens] (always valid).
        x holds all of them, or only the extra tokens when `past` gives each layer's keys and values
        [B, H, N, Dh] of the N history tokens run before. positions [B, S] of the tokens in x;
        structure [S, N + extra] or [B, S, N + extra]: which key each query may see before padding is
        masked, bool, or as a float [S, S] to add (0 or NEG_INF: the exported encode's triangle).
        extra_ages [B, extra] int64: the extra tokens' ages (default 0: the request's time).
        rotation: (cos rows, sin rows, query ids, key ids), rotary_rows.rotary_inputs' rows of these positions and ages
        (the exported encode graph's inputs): then positions and ages do not turn anything here. key_padding
        [B, 1, 1, N + extra] (0 or NEG_INF; the exported encode graph's input, encoding.slot_inputs): the padding row of
        the mask, else made here from valid. last_layer_rows: the last layer computes the output of the last this many
        tokens only (last_queries; every layer's keys and values are still every token's).
        Returns the output [B, S, D] ([B, last_layer_rows, D]) and each layer's keys and values [B, H, N + extra, Dh]."""
        x = self.input_drop(x)
        s = x.shape[1]                                                      # the queries: the last s tokens
        # int64 ages -> float only in the rotary, after the request-relative difference was taken.
        ages = torch.where(valid, history_age_seconds.clamp(min=0), torch.zeros_like(history_age_seconds))  # [B, N]
        if extra_ages is None:
            extra_ages = torch.zeros_like(ages[:, :1]).repeat(1, extra_tokens)  # [B, extra]
        key_ages = torch.cat([ages, extra_ages], dim=1)                     # int64 [B, N + extra]
        if self.cfg.query_time == "next":  # event i asks at event i + 1's time, the last event at the request's (age 0)
            query_ages = torch.cat([next_event_ages(ages), extra_ages], dim=1)[:, -s:]  # [B, S]
        else:
            query_ages = key_ages[:, -s:]                                   # [B, S]
        def turn(token_ages: Tensor) -> Rotation:
            return tuple(as_dtype(t, self.block_dtype()) for t in self.rotary(positions.float(), token_ages))
        if rotation is not None:  # the exported encode graph: rows made by the runtime (rotary_rows.py)
            cos_rows, sin_rows, q_ids, k_ids = rotation
            cos_rows, sin_rows = as_dtype(cos_rows, self.block_dtype()), as_dtype(sin_rows, self.block_dtype())
            q_turn, k_turn = (cos_rows, sin_rows, q_ids), (cos_rows, sin_rows, k_ids)
        else:
            q_turn = turn(query_ages)
            k_turn = q_turn if self.cfg.query_time == "own" else turn(key_ages[:, -s:])
        key_valid = torch.cat([valid, torch.ones_like(valid[:, :1]).repeat(1, extra_tokens)], dim=1)  # [B, N + extra]
        if key_padding is not None and not structure.is_floating_point():  # the runtime's, read as the graph reads it
            key_valid = key_padding[:, 0, 0] == 0.0
        if structure.is_floating_point():
            # Exported encode: the triangle made by Trilu, the padding taken in by a minimum. The mask built from
            # a comparison of positions, an And and a Where over [S, S] was ~5 % of the encode call.
            if key_padding is None:
                key_padding = torch.where(key_valid, 0.0, NEG_INF)[:, None, None, :]  # [B, 1, 1, N + extra]
            mask_add = torch.minimum(structure, key_padding)                # [B, 1, S, N + extra]
            allowed = mask_add == 0.0 if self.cfg.block == "hstu" else None  # the softmax block reads mask_add only
        else:
            structure = structure if structure.dim() == 3 else structure[None]  # [B or 1, S, N + extra]
            allowed = (structure & key_valid[:, None, :])[:, None]          # [B, 1, S, N + extra]
            mask_add = torch.where(allowed, 0.0, NEG_INF)                   # [B, 1, S, N + extra]
        bias = None
        if self.cfg.time_signal == "bucket":
            buckets = time_bucket(key_ages[:, None, :] - query_ages[:, :, None], self.cfg.time_buckets)  # [B, S, N + extra]
            bias = self.time_bias[buckets].permute(0, 3, 1, 2)              # [B, H, S, N + extra]
        keys, values = [], []
        for layer, block in enumerate(self.blocks):
            x, k, v = block(x, q_turn, k_turn, mask_add, allowed, bias,
                            None if past is None else (past[0][layer], past[1][layer]),
                            last_layer_rows if layer == len(self.blocks) - 1 else None)
            keys.append(as_dtype(k, torch.float32))
            values.append(as_dtype(v, torch.float32))
        return x, keys, values

    def block_dtype(self) -> torch.dtype:
        """float32, or float16 in the GPU export (export.half_blocks): then the blocks' matmuls run
        in float16, while the residual stream, norms, attention scores and softmax, embeddings,
        rotary angles (ages in seconds overflow float16), masks and heads stay float32, and so do
        the graphs' inputs and outputs."""
        return self.blocks[0].attn_norm.weight.dtype

    # ---- 7. score: M-FALCON candidates over the cache ---------------------------------------
    def score(self, cache_keys: Tensor, cache_values: Tensor, cache_mask: Tensor, candidates: Tensor,
              item_table: Tensor | None = None, positions: Tensor | None = None,
              ages: Tensor | None = None, candidate_rows: Tensor | None = None) -> Tensor:
        """cache_mask [B, T], or [B, K, T] for a cache slice per candidate (training: score_every_prefix).
        positions, ages [B, K] (int64 seconds): default RET's place (#real history + 1 = sum(cache_mask)), age 0,
        one place for every candidate (the request's), so one rotation matrix rotates them all.
        candidate_rows: candidate_table(), precomputed, else from the items. The exported graph runs
        score_served(), this at the default place on encode_served()'s cache."""
        if candidate_rows is not None:
            x = candidate_rows[candidates]                                  # [B, K, D]
        else:
            x = self.input_drop(self._as_candidate(self.item_repr(candidates, item_table)))  # [B, K, D]
        if positions is None:
            rotation = as_dtype(self.candidate_rotation(cache_mask), self.block_dtype())

            def rotate(q: Tensor) -> Tensor:
                return q @ rotation                                         # [B, H, K, Dh] @ [B, 1, Dh, Dh]
        else:
            cos, sin = (as_dtype(t, self.block_dtype()) for t in self.rotary(
                positions, torch.zeros_like(positions, dtype=torch.long) if ages is None else ages))

            def rotate(q: Tensor) -> Tensor:
                return apply_rotary(q, cos, sin)
        caches = CandidateCache.from_cache(*(as_dtype(t, self.block_dtype()) for t in (cache_keys, cache_values)),
                                           cache_mask, self.cfg.head_dim)
        return self._rank_candidates(x, rotate, caches)

    def score_served(self, keys: Sequence[Tensor], values: Sequence[Tensor], candidates: Tensor,
                     candidate_rows: Tensor) -> Tensor:
        """score() as the exported score graph runs it, on encode_served()'s per-layer cache: every
        candidate at the request's place, input rows from candidate_table(). -> logits [B, K]"""
        return self.score_rows_served(keys, values, candidate_rows[candidates])

    def score_rows_served(self, keys: Sequence[Tensor], values: Sequence[Tensor], rows: Tensor) -> Tensor:
        """score_served() for candidates given by their input rows [B, K, D] instead of item indices: how the
        exported score_rows graph ranks items added after training (rows from cold_candidate_rows). -> [B, K]"""
        caches = [CandidateCache.from_served(*(as_dtype(t, self.block_dtype()) for t in kv)) for kv in zip(keys, values)]
        return self._rank_candidates(rows, lambda q: q, caches)

    def _rank_candidates(self, x: Tensor, rotate: Callable[[Tensor], Tensor], caches: Sequence[CandidateCache]) -> Tensor:
        # x [B, K, D] candidates' input rows -> [B, K] logits.
        # time_signal = "bucket": the score graph's inputs (the bundle contract) carry no ages, so
        # candidates get no time-bucket bias; history timing reaches them through the cached K/V.
        for block, cache in zip(self.blocks, caches):
            x = block.forward_candidates(x, rotate, cache)
        return self.rank_head(self.final_norm(x)).squeeze(-1)               # [B, K] logits

    def candidate_rotation(self, cache_mask: Tensor) -> Tensor:
        """The rotary of score()'s default place (RET's: #real history + 1 = sum(cache_mask), age 0) as
        one matrix: cache_mask [B, T] -> [B, 1, Dh, Dh]."""
        return self.rotary.matrix_at_age_zero(cache_mask.sum(-1, keepdim=True))

    def candidate_table(self) -> Tensor:
        """Every item's input row as a candidate (repr * input_scale + Type(candidate)), [I + 1, D]:
        the exported score graph gathers its candidates' rows from this constant instead of
        computing id + text mean per call (~20 kernels at any K). It replaces the id, token and
        item-token tables in that graph, so the graph gets smaller, not larger. Eval only."""
        return self._as_candidate(self.item_table())

    def _as_candidate(self, item_repr: Tensor) -> Tensor:
        # an item's representation as it enters the candidate stream: [..., D] -> [..., D]
        return item_repr * self.cfg.input_scale + self.type_emb.weight[TYPE_CANDIDATE]

    def score_every_prefix(self, cache_keys: Tensor, cache_values: Tensor, history_items: Tensor,
                           history_age_seconds: Tensor, next_items: Tensor, item_table: Tensor | None = None) -> Tensor:
        """Training only: the ranking score of each history event's successor, in one call.
        next_items [B, N]: candidate i is the item of event i + 1 (the last: the request's target); it
        sees events 1..i of encode()'s cache and itself, as if a request had come right after event i:
        not the context token (computed after the whole history) and no later event; placed where
        score() puts a candidate (two positions after the last event) at event i + 1's age. So every
        labelled event trains the ranker, as SASRec's dense loss trains retrieval. -> logits [B, N]"""
        valid = history_items > 0                                           # [B, N]
        n = valid.shape[1]
        j = torch.arange(n, device=valid.device)
        sees = (j[None, :] <= j[:, None])[None] & valid[:, None, :]         # [B, N (candidate), N (event)]
        hidden_context = torch.zeros_like(sees[:, :, :1])
        visible = torch.cat([sees, hidden_context], dim=2).float()          # [B, N, T = N + 1]
        positions = ((valid.long().cumsum(1) - 1).clamp(min=0) + 2).float()  # [B, N]
        ages = next_event_ages(history_age_seconds)
        return self.score(cache_keys, cache_values, visible, next_items, item_table, positions, ages.clamp(min=0))
