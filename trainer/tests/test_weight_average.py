"""The moving average of the weights: its arithmetic, its swap in and out, and that a run selects and
checkpoints the averaged weights, not the raw ones."""
import pytest
import torch

from genrec_trainer import synthetic
from genrec_trainer.checkpoint import RunCheckpoint
from genrec_trainer.train import train
from genrec_trainer.weight_average import WeightAverage


def _scalar_model(value: float) -> torch.nn.Linear:
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def _set(model: torch.nn.Linear, value: float) -> None:
    with torch.no_grad():
        model.weight.fill_(value)


def test_a_young_average_follows_the_weights_closely_and_a_grown_one_by_the_horizons_decay():
    model = _scalar_model(0.0)
    average = WeightAverage(model, epochs=5)
    _set(model, 1.0)
    average.update(model, steps_per_epoch=1000)  # first update: decay (1 + 0) / (10 + 0) = 0.1, not 0.9998
    assert average.average["weight"].item() == pytest.approx(0.9)

    grown = WeightAverage(_scalar_model(0.0), epochs=2)
    grown.updates = 100  # past the warm-up: the horizon's decay 1 - 1 / (2 epochs x 1 step) = 0.5
    _set(model, 1.0)
    grown.update(model, steps_per_epoch=1)
    _set(model, 3.0)
    grown.update(model, steps_per_epoch=1)
    assert grown.average["weight"].item() == pytest.approx(0.5 * 0.5 + 0.5 * 3.0)
    assert grown.updates == 102


def test_applied_reads_the_average_inside_and_the_raw_weights_after_even_on_an_error():
    model = _scalar_model(0.0)
    average = WeightAverage(model, epochs=1)
    _set(model, 2.0)
    with average.applied(model):
        assert model.weight.item() == 0.0
    assert model.weight.item() == 2.0
    with pytest.raises(RuntimeError), average.applied(model):
        raise RuntimeError("validation failed")
    assert model.weight.item() == 2.0


def test_a_horizon_of_no_epochs_is_refused():
    with pytest.raises(ValueError, match="positive number of epochs"):
        WeightAverage(_scalar_model(0.0), epochs=0)


def test_a_run_selects_and_checkpoints_the_averaged_weights_not_the_raw_ones(tmp_path):
    items, events = synthetic.generate(seed=1, num_users=40, num_items=30, min_len=8, max_len=12)
    ckpt = tmp_path / "run.ckpt"
    settings = dict(seed=3, epochs=1, max_history=10, d_model=16, batch_size=16, examples_per_epoch=64, negatives=16,
                    select_best=True, export=False, weight_average_epochs=3.0)
    train(items, events, out=str(tmp_path / "b"), data_desc="tiny", log=lambda *_: None, checkpoint=str(ckpt),
          **settings)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state"]
    averaged, selected, raw = state["weight_average"]["average"], state["best"][2], state["model"]
    assert state["weight_average"]["updates"] == 4  # 64 examples in batches of 16
    moved = [k for k in averaged if not torch.equal(averaged[k], raw[k])]
    assert moved, "four Adam steps moved the raw weights away from their average"
    for k in averaged:
        assert torch.equal(selected[k], averaged[k]), k
