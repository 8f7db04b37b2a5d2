"""The run list: good and broken runs side by side, newest first, hidden folders skipped."""
import json

import torch

from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import save_run
from vae_core.runs.format import empty_metrics
from vae_core.runs.registry import RunSummary, list_runs, summarize_run

DATASET = {"spec": "toy", "seed": 0, "image_shape": [1, 8, 8], "class_names": ["a", "b"]}


def save_tiny(run_dir, created=None, kind="vae", neg_elbo=123.44):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    record = {"kind": "epoch", "epoch": 1, "test": {"neg_elbo": neg_elbo, "recon": 100.0, "kl": 23.44}}
    metrics = {"history": [record], "steps": [], "status": {"state": "finished"}}
    save_run(run_dir, model, train_config=None, dataset_info=DATASET, metrics=metrics)
    if created is not None:  # created is not covered by the weights' sha256, so editing it is safe
        path = run_dir / "config.json"
        config = json.loads(path.read_text())
        config["created"] = created
        path.write_text(json.dumps(config))


def test_missing_root_gives_empty_list(tmp_path):
    assert list_runs(tmp_path / "nope") == []


def test_lists_good_and_broken_runs_newest_first(tmp_path):
    save_tiny(tmp_path / "old", created="2024-01-01T00:00:00+00:00")
    save_tiny(tmp_path / "new-b", created="2024-06-01T00:00:00+00:00")
    save_tiny(tmp_path / "new-a", created="2024-06-01T02:00:00+02:00")  # the same moment as new-b
    save_tiny(tmp_path / "broken")
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "empty").mkdir()
    (tmp_path / "stray-file.txt").write_text("not a run")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".old.tmp-0123abcd").mkdir()

    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["new-a", "new-b", "old", "broken", "empty"]
    good = runs[0]
    assert good.error is None and good.path == tmp_path / "new-a"
    assert (good.kind, good.arch, good.dataset, good.latent_dim, good.likelihood) == ("vae", "mlp", "toy", 2, "bernoulli")
    assert good.test_neg_elbo == 123.44
    broken = {r.name: r for r in runs}["broken"]
    assert "config.json is not valid JSON" in broken.error
    assert "missing" in {r.name: r for r in runs}["empty"].error


def test_label_for_pickers(tmp_path):
    save_tiny(tmp_path / "mnist-d2")
    assert summarize_run(tmp_path / "mnist-d2").label == "mnist-d2 · toy · d=2 · test −ELBO 123.4"
    save_tiny(tmp_path / "ae", kind="ae")
    assert summarize_run(tmp_path / "ae").label == "ae · toy · d=2 · test recon 123.4"


def test_run_without_history_has_no_test_value(tmp_path):
    save_tiny(tmp_path / "r")
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(empty_metrics()))
    summary = summarize_run(tmp_path / "r")
    assert summary.test_neg_elbo is None and summary.error is None
    assert summary.label == "r · toy · d=2"


def test_broken_summary_label():
    summary = RunSummary("x", None, None, None, None, None, None, None, created="", error="boom")
    assert summary.label == "x · cannot be loaded"


def test_listing_never_reads_weights(tmp_path):
    save_tiny(tmp_path / "r")
    (tmp_path / "r" / "model.safetensors").write_bytes(b"garbage")  # load_run would refuse this
    [summary] = list_runs(tmp_path)
    assert summary.error is None


def test_a_summary_is_read_once_per_version_of_the_run(tmp_path, monkeypatch):
    from vae_core.runs import registry

    reads = []
    real = registry.read_run_metrics
    monkeypatch.setattr(registry, "read_run_metrics", lambda d: reads.append(d) or real(d))
    save_tiny(tmp_path / "run", neg_elbo=120.0)
    assert [s.test_neg_elbo for s in list_runs(tmp_path)] == [120.0]
    assert [s.test_neg_elbo for s in list_runs(tmp_path)] == [120.0]
    assert len(reads) == 1  # the second listing used the remembered summary
    first = list_runs(tmp_path)[0]
    first.name = "changed by a caller"  # callers get copies: the remembered row is not touched
    assert list_runs(tmp_path)[0].name == "run"

    save_tiny(tmp_path / "run", neg_elbo=99.5)  # saved again: new files, read afresh
    assert [s.test_neg_elbo for s in list_runs(tmp_path)] == [99.5]
    assert len(reads) == 2
