"""The training's FLOP count: forward and backward products counted once per batch shape."""
import torch

from genrec_trainer.flops import StepFlops, matmul_rate


def test_a_step_counts_its_forward_and_backward_products_once_per_shape():
    w = torch.randn(8, 5, requires_grad=True)
    runs = []

    def step(rows):
        runs.append(rows)
        (torch.randn(rows, 8) @ w).sum().backward()   # forward 2*rows*8*5; backward: dL/dw = x^T g, the same again
        return rows

    flops = StepFlops()
    assert flops.run(("a", 3), lambda: step(3)) == (3, 4 * 3 * 8 * 5)
    assert flops.run(("a", 3), lambda: step(3)) == (3, 4 * 3 * 8 * 5), "a seen shape reuses its count"
    assert flops.run(("a", 6), lambda: step(6)) == (6, 4 * 6 * 8 * 5)
    assert runs == [3, 3, 6], "every step runs, counted or not"


def test_the_shape_of_a_batch_tells_searches_apart():
    plain = {"history_items": torch.ones(2, 4, dtype=torch.long), "query_tokens": torch.zeros(2, 3, dtype=torch.long)}
    searched = {**plain, "query_tokens": torch.tensor([[0, 0, 0], [5, 0, 0]])}
    assert StepFlops.shape_of(plain) != StepFlops.shape_of(searched)
    assert StepFlops.shape_of(plain) == StepFlops.shape_of({**plain, "history_items": torch.full((2, 4), 7)})


def test_the_matmul_rate_is_a_plausible_cpu_rate():
    rate = matmul_rate(torch.device("cpu"))
    assert 1e8 < rate < 1e14
