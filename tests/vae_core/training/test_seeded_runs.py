"""Seeded training is bit-identical to the recorded runs, so the shipped models still rebuild from their seeds.

The weights' sha256 of a seeded run depends on the seed, the code and the float arithmetic of the CPU's
kernels (MKL picks them by vendor, instruction set and thread count), so each digest is recorded with the
machine it was made on, and the runs here use two torch threads whatever the machine (the digests were made
so; other tests may have left torch at one thread). A machine of another kind checks that the same seed
gives the same weights twice, and says how to record its own digest.
"""
import json
import threading
from pathlib import Path

import pytest
import torch

from vae_core.cli import main
from vae_core.models import ModelConfig
from vae_core.training.config import TrainConfig
from vae_core.training.run import resume_run, train_run

ISSUE_RUN = ["--dataset", "digits", "--epochs", "2", "--augment-shift", "1"]  # all else the CLI's defaults, seed 0
# sha256 of model.safetensors, by (CPU vendor, torch's CPU capability, torch version). Recorded with the code
# before the trainer was rewritten as a loop over named steps (commit 8f416d4), 2026-12-03.
RECORDED = {
    ("AuthenticAMD", "AVX2", "2.14.1"): {
        "issue_run": "b2fe3944c0043fdd37ba8df9fc13aa93473b1207b4209c46b327229aa08edcaf",
        "stopped_at_step_17": "73a7ae1ac4148bbcc1141baf92cc045cbc493e9d049ac08621529f634ab1955d",
        "resumed_to_2_epochs": "b4e44ab33b9dab0ce667aedbbd0e6d10af4c68f8508181969ef4be30ba6ba207",
    },
}


RECORDED_THREADS = 2


@pytest.fixture(autouse=True)
def _recorded_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(RECORDED_THREADS)
    yield
    torch.set_num_threads(before)


def this_machine() -> tuple[str, str, str]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        vendor = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("vendor_id"))
    except (OSError, StopIteration):
        vendor = "unknown"
    return vendor, torch.backends.cpu.get_cpu_capability(), torch.__version__.split("+")[0]


def weights_sha256(run_dir: Path) -> str:
    return json.loads((run_dir / "config.json").read_text())["weights_sha256"]


def train_issue_run(out: Path) -> str:
    assert main(["train", *ISSUE_RUN, "--out", str(out), "--name", "r", "--device", "cpu", "--quiet"]) == 0
    return weights_sha256(out / "r")


def stop_then_resume(out: Path) -> tuple[str, str]:
    """A run stopped by request in the middle of its first epoch (at step 17), then resumed to 2 epochs."""
    stop = threading.Event()

    def stop_at_17(record: dict) -> None:
        if record["kind"] == "step" and record["step"] == 17:
            stop.set()

    config = TrainConfig(epochs=2, batch_size=32, seed=3, warmup_epochs=0.5, device="cpu")
    train_run(ModelConfig(latent_dim=3, hidden_sizes=(64,)), config, "digits", out / "r", callback=stop_at_17,
              stop_event=stop)
    stopped = weights_sha256(out / "r")
    resume_run(out / "r", epochs=2)
    return stopped, weights_sha256(out / "r")


def recorded_or_skip() -> dict:
    machine = this_machine()
    if machine not in RECORDED:
        pytest.skip(f"no digest recorded for {machine}; train `python -m vae_core train {' '.join(ISSUE_RUN)}` "
                    f"with the code of commit 8f416d4 on such a machine and add its weights_sha256 to RECORDED")
    return RECORDED[machine]


def test_the_issue_run_has_the_recorded_weights(tmp_path):
    assert train_issue_run(tmp_path) == recorded_or_skip()["issue_run"]


def test_a_run_stopped_mid_epoch_and_resumed_has_the_recorded_weights(tmp_path):
    recorded = recorded_or_skip()
    stopped, resumed = stop_then_resume(tmp_path)
    assert (stopped, resumed) == (recorded["stopped_at_step_17"], recorded["resumed_to_2_epochs"])


def test_the_same_seed_gives_the_same_weights_on_any_machine(tmp_path):
    assert train_issue_run(tmp_path / "a") == train_issue_run(tmp_path / "b")
    assert stop_then_resume(tmp_path / "c") == stop_then_resume(tmp_path / "d")
