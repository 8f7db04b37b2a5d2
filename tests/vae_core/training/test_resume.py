"""Stop a run mid-epoch, resume it from its checkpoint: the epoch, the step count, Adam's state and the curves go on."""
import math
import threading

import pytest

from vae_core.cli import main
from vae_core.data import load_dataset
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import read_run_metrics
from vae_core.runs.names import RunNameTaken, claim_run_name
from vae_core.runs.optimizer_state import load_optimizer_state
from vae_core.training.config import TrainConfig
from vae_core.training.run import resume_run, train_run

BATCH = 128
TINY = ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8))


@pytest.fixture(scope="module")
def steps_per_epoch():
    return math.ceil(load_dataset("digits", seed=0).train_x.shape[0] / BATCH)


def stopped_run(run_dir, stop_at_step, epochs=3):
    """A run on digits stopped by request right after `stop_at_step`."""
    stop = threading.Event()

    def stop_there(record):
        if record["kind"] == "step" and record["step"] == stop_at_step:
            stop.set()

    train_run(TINY, TrainConfig(epochs=epochs, batch_size=BATCH, device="cpu"), "digits", run_dir,
              callback=stop_there, stop_event=stop)
    return read_run_metrics(run_dir)


def adam_steps(run_dir):
    return {s["step"].item() for s in load_optimizer_state(run_dir)["state"].values()}


def assert_curves_join(metrics, epochs):
    steps = metrics["steps"]
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))  # no gap, no overlap
    progress = [r["epoch_progress"] for r in steps]
    assert all(a < b for a, b in zip(progress, progress[1:]))
    elapsed = [r["elapsed_s"] for r in steps]
    assert all(a <= b for a, b in zip(elapsed, elapsed[1:]))
    assert [r["epoch"] for r in metrics["history"]] == list(range(1, epochs + 1))
    assert not any(r.get("partial") for r in metrics["history"])
    assert metrics["history"][-1]["step"] == len(steps) == metrics["status"]["step"]


def test_resume_after_a_stop_mid_epoch_goes_on_at_the_next_step(tmp_path, steps_per_epoch):
    run_dir = tmp_path / "stopped"
    stop_at = steps_per_epoch + 3  # three steps into the second epoch
    before = stopped_run(run_dir, stop_at)
    assert before["status"] | {"message": ""} == {"state": "stopped", "message": "", "epochs_done": 1, "step": stop_at}
    assert adam_steps(run_dir) == {stop_at}

    records = []
    result = resume_run(run_dir, epochs=3, callback=records.append)
    first = records[0]
    assert first["kind"] == "step" and first["step"] == stop_at + 1 and first["epoch"] == 1
    assert first["epoch_progress"] == pytest.approx(1 + 4 / steps_per_epoch)
    assert result.status["state"] == "finished" and result.status["epochs_done"] == 3

    after = read_run_metrics(run_dir)
    assert_curves_join(after, epochs=3)
    assert after["steps"][:stop_at] == before["steps"]  # the first session's curve is kept as it was
    # Adam went on from its saved count: a fresh Adam would count only the resumed steps.
    assert adam_steps(run_dir) == {3 * steps_per_epoch}
    # The resumed epoch's record averages all its steps, from both sessions.
    second_epoch = [r["train"]["neg_elbo"] for r in after["steps"] if r["epoch"] == 1]
    assert len(second_epoch) == steps_per_epoch
    assert after["history"][1]["train"]["neg_elbo"] == pytest.approx(sum(second_epoch) / steps_per_epoch, rel=1e-4)


def test_cli_resume_after_a_stop_joins_the_curves(tmp_path, steps_per_epoch, capsys):
    run_dir = tmp_path / "runs" / "cli-stopped"
    stopped_run(run_dir, stop_at_step=5)
    assert main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet"]) == 0
    assert "saved" in capsys.readouterr().out
    after = read_run_metrics(run_dir)
    assert_curves_join(after, epochs=2)
    assert adam_steps(run_dir) == {2 * steps_per_epoch}


def test_a_run_another_session_trains_is_not_resumed(tmp_path, capsys):
    run_dir = tmp_path / "busy"
    stopped_run(run_dir, stop_at_step=2, epochs=1)
    with claim_run_name(tmp_path, "busy", new=False):
        with pytest.raises(RunNameTaken, match="being trained right now"):
            resume_run(run_dir, epochs=2)
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet"])
    assert exit_info.value.code == 2
    assert "error: run name 'busy': a run with this name is being trained right now" in capsys.readouterr().err
    assert read_run_metrics(run_dir)["status"]["state"] == "stopped"  # untouched
