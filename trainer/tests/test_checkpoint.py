"""A checkpointed run stopped and started again ends exactly where an uninterrupted run ends;
a checkpoint of another run, or a damaged file, is refused with the reason."""
import json
import os
import signal

import numpy as np
import pytest
import torch

from genrec_trainer import synthetic
from genrec_trainer.checkpoint import RunCheckpoint
from genrec_trainer.data import leave_one_out
from genrec_trainer.reference_sasrec import train_reference
from genrec_trainer.train import train

from test_reference_sasrec import _user


@pytest.fixture(scope="module")
def tiny_log():
    return synthetic.generate(seed=1, num_users=60, num_items=50, min_len=12, max_len=20)


def _train(tiny_log, tmp_path, name, log=lambda *_: None, **kw):
    """Every piece of state a resumed epoch depends on is live: dropout (torch's generator), sampled
    examples and negatives (numpy's), Adam's moments, the adaptive weighter, the best epoch so far (and, when
    asked for, the weights' moving average)."""
    items, events = tiny_log
    settings = dict(seed=3, epochs=3, max_history=10, d_model=16, batch_size=16, examples_per_epoch=64,
                    negatives=16, dropout=0.2, adaptive_weights=True, dense_loss=True, select_best=True,
                    eval_every=1, export=False, metrics_out=str(tmp_path / f"{name}.json"))
    settings.update(kw)
    metrics = train(items, events, out=str(tmp_path / "b"), data_desc="tiny", log=log, **settings)
    return metrics, json.loads((tmp_path / f"{name}.json").read_text())


TIMINGS = {"seconds", "train_gflop_per_s", "matmul_utilisation"}


def _without_times(history):
    return [{k: v for k, v in h.items() if k not in TIMINGS} for h in history]


SEARCH_AND_ENHANCER = dict(search_queries="path", enhancer=True, enhancer_top=8, enhancer_hard=3,
                           favourite_threshold=0.5, sampling="users", length_grouping=False)


@pytest.mark.parametrize("stop_at,extra", [("epoch 2:", {}),                  # after epoch 2
                                           ("  epoch 2 step 2/", {}),         # in the middle of it
                                           ("epoch 2:", SEARCH_AND_ENHANCER),
                                           ("epoch 2:", {"weight_average_epochs": 2.0})])
def test_a_stopped_run_resumed_ends_as_the_uninterrupted_run(tiny_log, tmp_path, stop_at, extra):
    want, want_saved = _train(tiny_log, tmp_path, "whole", **extra)
    ckpt = str(tmp_path / "run.ckpt")

    def stop_there(line):
        if line.startswith(stop_at):
            os.kill(os.getpid(), signal.SIGUSR1)

    _, stopped = _train(tiny_log, tmp_path, "stopped", log=stop_there, checkpoint=ckpt, progress_every=1, **extra)
    assert stopped["epochs_run"] == 2 and stopped["ended"] == "request", "the stop ended the run in epoch 2"
    got, saved = _train(tiny_log, tmp_path, "resumed", checkpoint=ckpt, **extra)
    resumed_after = 2 if stop_at == "epoch 2:" else 1  # a partial epoch is never checkpointed: it runs again
    assert saved["resumed_at_epochs"] == [resumed_after + 1]
    assert _without_times(saved["history"]) == _without_times(want_saved["history"])
    assert got == want and saved["selected_epoch"] == want_saved["selected_epoch"]
    assert saved["ended"] == want_saved["ended"] == "epochs"


def test_a_stop_asked_for_while_the_best_epoch_is_tested_does_not_lose_the_test(tiny_log, tmp_path):
    # a scheduler's SIGUSR1 can come late, after the last epoch; it used to end the process with no test
    lines = []

    def signal_at_selection(line):
        lines.append(line)
        if line.startswith("model selection"):
            os.kill(os.getpid(), signal.SIGUSR1)

    metrics, saved = _train(tiny_log, tmp_path, "late", log=signal_at_selection)
    assert set(metrics) >= {"hr@10", "ndcg@10"} and saved["ended"] == "epochs"
    assert any(line.startswith("SIGUSR1: training is over") for line in lines)


def test_more_epochs_continue_a_finished_run_and_an_early_stop_stays_stopped(tiny_log, tmp_path):
    ckpt = str(tmp_path / "run.ckpt")
    _, two = _train(tiny_log, tmp_path, "two", checkpoint=ckpt, epochs=2)
    _, four = _train(tiny_log, tmp_path, "four", checkpoint=ckpt, epochs=4)
    assert [h["epoch"] for h in four["history"]] == [1, 2, 3, 4] and four["history"][:2] == two["history"]

    frozen = str(tmp_path / "frozen.ckpt")  # lr 0: validation never improves, patience 1 stops at epoch 2
    _, stopped = _train(tiny_log, tmp_path, "frozen", checkpoint=frozen, lr=0.0, patience=1, epochs=5)
    assert stopped["epochs_run"] == 2 and stopped["ended"] == "patience"
    lines = []
    _, again = _train(tiny_log, tmp_path, "frozen2", log=lines.append, checkpoint=frozen, lr=0.0, patience=1, epochs=9)
    assert again["epochs_run"] == 2 and again["ended"] == "patience"
    assert any("already stopped early" in line for line in lines)


def test_a_checkpoint_of_another_run_or_a_damaged_file_is_refused(tiny_log, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    _train(tiny_log, tmp_path, "first", checkpoint=str(ckpt), epochs=1)
    with pytest.raises(ValueError, match=r"other settings: lr 0\.003 there, 0\.001 here"):
        _train(tiny_log, tmp_path, "other", checkpoint=str(ckpt), lr=1e-3)
    items, events = tiny_log
    with pytest.raises(ValueError, match="other settings: data"):
        _train((items[:-1], [e for e in events if e.item_id != items[-1].item_id]), tmp_path, "fewer items",
               checkpoint=str(ckpt))
    # an argument added after the checkpoint was written: at its default the run still resumes, set it is another run
    assert "exclude_seen" not in torch.load(ckpt, weights_only=True)["settings"]
    with pytest.raises(ValueError, match="other settings: exclude_seen None there, True here"):
        _train(tiny_log, tmp_path, "excluding", checkpoint=str(ckpt), full_softmax=True, exclude_seen=True)
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    with pytest.raises(ValueError, match="cannot be read.*delete it to start the run afresh"):
        _train(tiny_log, tmp_path, "torn", checkpoint=str(ckpt))
    (tmp_path / "foreign.ckpt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        RunCheckpoint(tmp_path / "foreign.ckpt", {}).load()


def test_the_reference_sasrec_resumes_where_it_stopped(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [_user([(s + k) % 40 + 1 for k in range(12)]) for s in rng.integers(0, 40, 64)]
    split = leave_one_out(seqs)
    kw = dict(max_len=10, d_model=16, layers=1, heads=1, dropout=0.2, negatives=8, batch_size=16, epochs=3,
              patience=5, seed=2)
    _, want, want_best = train_reference(seqs, split, 40, log=lambda *_: None, **kw)
    run = RunCheckpoint(tmp_path / "ref.ckpt", {"test": 1})

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1:"):
            os.kill(os.getpid(), signal.SIGUSR1)

    _, first, _ = train_reference(seqs, split, 40, checkpoint=run, log=stop_after_epoch_1, **kw)
    assert len(first) == 1
    _, got, got_best = train_reference(seqs, split, 40, checkpoint=run, log=lambda *_: None, **kw)
    assert _without_times(got) == _without_times(want) and got_best == want_best
