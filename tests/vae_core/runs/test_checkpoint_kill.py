"""A process SIGKILLed while it saves a run leaves the previous complete run or the new one, never a broken one.

A helper process imports torch once, then for every trial forks a saver and SIGKILLs it after a
random delay. The saver either writes versions of one run over and over ("flip") or writes the
first save of one new run after another ("fresh"). Each version is told apart by a counter written
into one weight, into Adam's step count and into the status message.
"""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.names import TEMP_SIBLING_RE
from vae_core.runs.optimizer_state import load_optimizer_state
from vae_core.runs.registry import list_runs

REPO = Path(__file__).resolve().parents[3]
TRIALS = 40  # half "flip", half "fresh"
VERSIONS_PER_TRIAL = 100_000  # trial k's saver writes versions k·100000, k·100000 + 1, ...
DATASET = {"spec": "toy", "seed": 0, "image_shape": [1, 28, 28], "class_names": ["a", "b"]}

# Reads "mode first_version delay_s" lines; for each, forks a saver and kills it after delay_s.
HELPER = r"""
import json, os, signal, sys, time
import torch
torch.set_num_threads(1)
from vae_core.runs.checkpoint import save_run
from vae_core.models import ModelConfig, build_model

root, dataset = sys.argv[1], json.loads(sys.argv[2])
torch.manual_seed(0)
# About 1.6 MB of weights and 3.2 MB of Adam moments, so that a save takes a while to write.
model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(256,), image_shape=(1, 28, 28)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
model(torch.rand(4, 1, 28, 28)).neg_elbo.mean().backward()
optimizer.step()
counter_key, counter = next(iter(model.named_parameters()))


def save_version(run_dir, v):
    with torch.no_grad():
        counter.view(-1)[0] = float(v)
    for state in optimizer.state.values():
        state["step"].fill_(float(v))
    status = {"state": "running", "message": f"v{v}", "epochs_done": 0, "step": v}
    save_run(run_dir, model, train_config=None, dataset_info=dataset,
             metrics={"history": [], "steps": [], "status": status}, optimizer_state=optimizer.state_dict())


save_version(os.path.join(root, "flip"), 0)
print("ready", counter_key, flush=True)
for line in sys.stdin:
    mode, first, delay = line.split()
    helper = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the test's readline must not wait on a saver
            v = int(first)
            while os.getppid() == helper:  # a saver whose helper died stops too
                save_version(os.path.join(root, "flip" if mode == "flip" else f"fresh-{v}"), v)
                v += 1
        finally:
            os._exit(1)
    time.sleep(float(delay))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("killed", flush=True)
"""


def version_of(run) -> int:
    return int(run.metrics["status"]["message"][1:])


def expected_state(reference: dict, counter_key: str, version: int) -> dict:
    """Version `version` of the saved weights: the reference with the counter weight set."""
    state = {k: v.clone() for k, v in reference.items()}
    state[counter_key].view(-1)[0] = float(version)
    return state


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the helper forks its savers")
def test_savers_killed_at_random_moments_leave_a_complete_run_and_the_registry_intact(tmp_path):
    root = tmp_path / "runs"
    others = ["alpha", "beta", "gamma"]
    torch.manual_seed(1)
    for name in others:
        save_run(root / name, build_model(ModelConfig(latent_dim=2, hidden_sizes=(8,), image_shape=(1, 28, 28))),
                 train_config=None, dataset_info=DATASET,
                 metrics={"history": [], "steps": [], "status": {"state": "finished", "message": name}})
    run_dir = root / "flip"
    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, str(root), json.dumps(DATASET)], cwd=REPO, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        ready, counter_key = helper.stdout.readline().split()
        assert ready == "ready"
        reference = load_run(run_dir).model.state_dict()
        rng = random.Random(0)
        previous, landed_mid_save, new_versions, fresh_runs = 0, 0, 0, []
        for trial in range(1, TRIALS + 1):
            mode = "fresh" if trial % 2 else "flip"
            helper.stdin.write(f"{mode} {trial * VERSIONS_PER_TRIAL} {rng.uniform(0.005, 0.2):.4f}\n")
            helper.stdin.flush()
            assert helper.stdout.readline().strip() == "killed"

            leftovers = [p.name for p in root.iterdir() if TEMP_SIBLING_RE.match(p.name)]
            landed_mid_save += bool(leftovers) or not run_dir.exists()
            summaries = list_runs(root)
            assert all(s.error is None for s in summaries), [s.error for s in summaries]
            fresh_runs = sorted(s.name for s in summaries if s.name.startswith("fresh-"))
            assert sorted(s.name for s in summaries) == sorted([*others, "flip", *fresh_runs])
            if mode == "fresh":
                # A new run killed in its first save is absent, never listed half-written.
                for name in (n for n in fresh_runs if int(n[6:]) >= trial * VERSIONS_PER_TRIAL):
                    version = int(name[6:])
                    assert version_of(load_run(root / name)) == version
                    assert {s["step"].item() for s in load_optimizer_state(root / name)["state"].values()} == {version}
                continue
            run = load_run(run_dir)
            version = version_of(run)
            # The previous complete version, or one this saver wrote in full; never anything else.
            assert version == previous or trial * VERSIONS_PER_TRIAL <= version < (trial + 1) * VERSIONS_PER_TRIAL
            new_versions += version != previous
            previous = version
            for key, value in expected_state(reference, counter_key, version).items():
                assert torch.equal(run.model.state_dict()[key], value), (trial, key)
            steps = {s["step"].item() for s in load_optimizer_state(run_dir)["state"].values()}
            assert steps == {float(version)}  # the optimizer file comes from the same save
    finally:
        helper.stdin.close()
        helper.kill()
        helper.wait()
    # Kills must have hit saves in progress, or the test would prove nothing.
    assert landed_mid_save >= TRIALS // 4, landed_mid_save
    assert new_versions >= 1 and fresh_runs
    # The next ordinary save restores order: only the runs are left, no hidden leftovers of "flip".
    save_run(run_dir, run.model, train_config=None, dataset_info=DATASET, metrics=run.metrics)
    assert not [p.name for p in root.iterdir() if p.name.startswith(".flip.")]
    print(f"{TRIALS} kills, {landed_mid_save} mid-save, {new_versions} flips to a newer version, "
          f"{len(fresh_runs)} fresh runs complete")
