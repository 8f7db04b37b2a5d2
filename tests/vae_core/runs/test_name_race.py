"""Two sessions asking for the same run name: one gets it, the other a unique name or a clear refusal."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vae_core.runs.checkpoint import load_run
from vae_core.runs.folder import install_run_folder
from vae_core.runs.names import RunNameTaken, claim_run_name, run_name_taken, unique_run_name

REPO = Path(__file__).resolve().parents[3]

# Waits for the `go` file so that every racer claims at the same moment, then reports and holds the claim.
RACER = r"""
import os, sys, time
from vae_core.runs.names import RunNameTaken, claim_run_name, claim_unique_run_name
root, name, mode, go = sys.argv[1:5]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
try:
    claim = claim_unique_run_name(root, name) if mode == "unique" else claim_run_name(root, name)
except RunNameTaken as e:
    print("refused", e, flush=True)
else:
    print("claimed", claim.name, flush=True)
    time.sleep(float(sys.argv[5]))
    claim.release()
"""


def race(tmp_path, mode, n=4, hold_s=3.0):
    """Outputs of `n` processes claiming 'same' in tmp_path/runs at the same moment."""
    go = tmp_path / f"go-{mode}"
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path / "runs"), "same", mode, str(go), str(hold_s)],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready"
    go.touch()
    outputs = [racer.communicate(timeout=60) for racer in racers]
    assert all(not err for _, err in outputs), [err for _, err in outputs]
    return [out.strip() for out, _ in outputs]


def test_a_claim_is_exclusive_until_released(tmp_path):
    claim = claim_run_name(tmp_path, "run")
    assert run_name_taken(tmp_path, "run") and unique_run_name(tmp_path, "run") == "run-2"
    with pytest.raises(RunNameTaken, match="run name 'run': a run with this name is being trained right now"):
        claim_run_name(tmp_path, "run", wait_s=0.0)
    claim.release()
    claim.release()  # a second release does nothing
    assert not run_name_taken(tmp_path, "run") and list(tmp_path.iterdir()) == []
    with claim_run_name(tmp_path, "run") as again:
        assert again.run_dir == tmp_path / "run"


def test_a_saved_run_refuses_a_new_claim_but_not_a_resume(tmp_path):
    (tmp_path / "done").mkdir()
    with pytest.raises(RunNameTaken, match="already exists"):
        claim_run_name(tmp_path, "done")
    claim_run_name(tmp_path, "done", new=False).release()
    with pytest.raises(ValueError, match="run name"):
        claim_run_name(tmp_path, "../escape")


def test_an_upload_never_takes_a_claimed_name(tmp_path):
    with claim_run_name(tmp_path, "held"):
        with pytest.raises(FileExistsError):
            install_run_folder(tmp_path / "held", {"config.json": b"{}"}, replace=False)
        assert not (tmp_path / "held").exists()


def test_a_killed_session_leaves_no_stale_claim(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from vae_core.runs.names import claim_run_name;"
         "c = claim_run_name(sys.argv[1], 'crash'); print('held', flush=True); time.sleep(60)", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run_name_taken(tmp_path, "crash")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert not run_name_taken(tmp_path, "crash")
    claim_run_name(tmp_path, "crash").release()


def test_processes_racing_for_one_name_get_it_once(tmp_path):
    outputs = race(tmp_path, "exact")
    assert sorted(o.split()[0] for o in outputs) == ["claimed", "refused", "refused", "refused"], outputs
    assert all("run name 'same'" in o for o in outputs if o.startswith("refused"))


def test_processes_racing_for_a_default_name_get_distinct_names(tmp_path):
    outputs = race(tmp_path, "unique")
    assert sorted(outputs) == ["claimed same", "claimed same-2", "claimed same-3", "claimed same-4"], outputs


def _cli_train(root, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "vae_core", "train", "--dataset", "digits", "--hidden-sizes", "16", "--epochs", "1",
         "--device", "cpu", "--out", str(root), "--quiet", *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_two_cli_trainings_into_one_name_never_share_a_folder(tmp_path):
    root = tmp_path / "runs"
    # This test holds the default name as another session would while training.
    with claim_run_name(root, "vae-mlp-d2-digits"):
        processes = [_cli_train(root, "--name", "same"), _cli_train(root, "--name", "same"), _cli_train(root)]
        results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    assert sorted(code for code, _, _ in results[:2]) == [0, 2], results
    refusal = next(err for code, _, err in results[:2] if code == 2)
    assert "error: run name 'same'" in refusal and "pick another name" in refusal and "Traceback" not in refusal
    assert results[2][0] == 0 and "saved" in results[2][1], results[2]
    names = sorted(p.name for p in root.iterdir())
    assert names == ["same", "vae-mlp-d2-digits-2"], names  # no hidden leftovers either
    for name in names:
        run = load_run(root / name)
        assert run.name == name and run.metrics["status"]["state"] == "finished"
