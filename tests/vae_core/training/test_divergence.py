"""A diverging run stops, says why and what to change, and leaves a loadable run with finite weights."""
import math
import threading

import pytest
import torch

from vae_core.cli import main
from vae_core.data import load_dataset
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import load_run
from vae_core.runs.registry import list_runs
from vae_core.training.config import TrainConfig
from vae_core.training.run import train_run

TINY = ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8))
BATCH = 256


@pytest.fixture(scope="module")
def steps_per_epoch():
    return math.ceil(load_dataset("digits", seed=0).train_x.shape[0] / BATCH)


def finite_weights(run) -> bool:
    return all(torch.isfinite(v).all() for v in run.model.state_dict().values())


def test_cli_with_lr_10_stops_on_nan_and_keeps_a_loadable_run(tmp_path, capsys):
    code = main(["train", "--dataset", "digits", "--hidden-sizes", "16", "--epochs", "3", "--lr", "10",
                 "--out", str(tmp_path), "--name", "lr10", "--quiet"])
    assert code == 1
    out, err = capsys.readouterr()
    assert f"saved {tmp_path / 'lr10'}" in out
    [line] = err.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: Training stopped at epoch 1") and "NaN" in line
    assert "Try a smaller learning rate (now 10, e.g. 1)" in line and "initial weights were kept" in line
    run = load_run(tmp_path / "lr10")
    assert finite_weights(run) and run.metrics["status"]["state"] == "diverged"
    [summary] = list_runs(tmp_path)
    assert summary.error is None and summary.name == "lr10"


def poisoned_at(step_to_poison, stop=None):
    """A callback that fills one decoder weight with NaN right after step `step_to_poison`, optionally stopping there."""
    def callback(record):
        if record["kind"] == "step" and record["step"] == step_to_poison:
            with torch.no_grad():
                model = callback.model
                model.decoder.body[0].weight.fill_(float("nan"))
            if stop is not None:
                stop.set()
    return callback


def train_poisoned(run_dir, step_to_poison, epochs, stop=None):
    callback = poisoned_at(step_to_poison, stop)
    return train_run(TINY, TrainConfig(epochs=epochs, batch_size=BATCH, device="cpu"), "digits", run_dir,
                     callback=callback, stop_event=stop, on_start=lambda model, dataset: setattr(callback, "model", model))


def test_weights_turning_nan_on_the_last_step_are_not_saved(tmp_path, steps_per_epoch):
    # The loss of the last step was finite, so only a check of the final weights can see the NaN.
    result = train_poisoned(tmp_path / "nan-at-end", 2 * steps_per_epoch, epochs=2)
    assert result.status["state"] == "diverged" and "NaN" in result.status["message"]
    assert "learning rate" in result.status["message"]
    assert result.status["epochs_done"] == 1 and result.status["step"] == steps_per_epoch
    run = load_run(tmp_path / "nan-at-end")
    assert finite_weights(run)
    # The epoch record of the lost weights is dropped, so the registry's test −ELBO is the kept weights'.
    assert [r["epoch"] for r in run.metrics["history"]] == [1]
    summary = next(s for s in list_runs(tmp_path) if s.name == "nan-at-end")
    assert summary.test_neg_elbo is not None and summary.test_neg_elbo == run.metrics["history"][0]["test"]["neg_elbo"]


def test_nan_right_before_a_stop_is_caught(tmp_path, steps_per_epoch):
    stop = threading.Event()
    result = train_poisoned(tmp_path / "nan-then-stop", steps_per_epoch + 2, epochs=5, stop=stop)
    assert result.status["state"] == "diverged" and result.status["step"] == steps_per_epoch  # kept: end of epoch 1
    assert finite_weights(load_run(tmp_path / "nan-then-stop"))
