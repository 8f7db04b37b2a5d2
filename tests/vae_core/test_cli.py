import json
import subprocess
import sys
from pathlib import Path

import pytest

from vae_core.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    code = main(["train", "--dataset", "digits", "--latent-dim", "2", "--hidden-sizes", "64", "--epochs", "2",
                 "--out", str(root), "--name", "tiny", "--quiet"])
    assert code == 0
    return root / "tiny"


def test_train_writes_a_complete_run_folder(trained_run, capsys):
    assert {p.name for p in trained_run.iterdir()} >= {"model.safetensors", "config.json", "metrics.json"}
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model"]["latent_dim"] == 2 and config["dataset"]["spec"] == "digits"
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert metrics["status"]["state"] == "finished"


def test_evaluate_json_prints_the_documented_keys(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--split", "all", "--iw-samples", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"neg_elbo", "recon", "kl", "nll_iw", "active_units", "n"} <= set(out)
    assert out["n"] == 1797
    assert out["neg_elbo"] == pytest.approx(out["recon"] + out["kl"], rel=1e-6)
    assert out["nll_iw"] <= out["neg_elbo"] + 0.5


def test_evaluate_text_labels_units_and_signs(trained_run, capsys):
    assert main(["evaluate", str(trained_run)]) == 0
    out = capsys.readouterr().out
    assert "nats per image" in out and "−ELBO (lower is better)" in out and "KL(q(z|x) || p(z))" in out


def test_sample_writes_a_png_grid(trained_run, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", str(trained_run), "--n", "16", "--out", str(out), "--scale", "2"]) == 0
    from PIL import Image

    image = Image.open(out)
    assert image.size == ((4 * 10 + 2) * 2, (4 * 10 + 2) * 2)  # 4×4 tiles of 8 px with 2 px borders


def test_list_shows_name_dataset_dim_and_test_elbo(trained_run, capsys):
    assert main(["list", str(trained_run.parent)]) == 0
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("tiny")][0]
    assert "digits" in line and " 2 " in line


def test_resume_continues_the_history(trained_run, capsys):
    assert main(["train", "--resume", str(trained_run), "--epochs", "3", "--quiet"]) == 0
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1, 2, 3]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--latent-dim", "0"], "--latent-dim: expected a number ≥ 1"),
        (["train", "--latent-dim", "129", "--dataset", "digits"], "latent dimension: expected an integer from 1 to 128"),
        (["train", "--lr", "abc"], "--lr: expected a number"),
        (["train", "--dataset", "nope"], "unknown spec 'nope'"),
        (["train", "--dataset", "digits", "--arch", "conv"], "conv architecture"),
        (["train", "--dataset", "digits", "--name", "../escape"], "run name"),
        (["train", "--batch-size", "-3"], "--batch-size"),
        (["evaluate", "/definitely/not/here"], "does not exist"),
        (["sample", "/definitely/not/here"], "does not exist"),
    ],
)
def test_bad_arguments_get_argparse_messages(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage:" in err


def test_evaluating_on_a_dataset_of_another_size_is_refused(trained_run, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", str(trained_run), "--dataset", "mnist5k"])
    assert "8×8" in capsys.readouterr().err


def test_no_traceback_reaches_the_terminal(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    proc = subprocess.run([sys.executable, "-m", "vae_core", "train", "--dataset", f"npz:{bad}", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr
