"""Saving and loading runs: round trips, every rejected file, and survival of a killed save."""
import json
import os
import pickle
import random
import shutil
import signal
import time

import pytest
import torch

from vae_core.models import ModelConfig, build_model
from vae_core.runs import format as run_format
from vae_core.runs.checkpoint import load_run, read_run_config, save_run
from vae_core.runs.format import empty_metrics, sha256_hex
from vae_core.runs.optimizer_state import load_optimizer_state
from vae_core.runs.registry import list_runs
from vae_core.training.config import TrainConfig

DATASET = {"spec": "toy", "seed": 0, "image_shape": [1, 8, 8], "class_names": ["a", "b"]}


def tiny_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8), **overrides))


def metrics(message="", neg_elbo=50.0):
    record = {"kind": "epoch", "epoch": 1, "step": 4, "test": {"neg_elbo": neg_elbo, "recon": 48.0, "kl": 2.0}}
    return {"history": [record], "steps": [], "status": {"state": "finished", "message": message, "epochs_done": 1, "step": 4}}


def save_tiny(run_dir, seed=0, **kwargs):
    model = tiny_model(seed)
    kwargs.setdefault("metrics", metrics())
    save_run(run_dir, model, train_config=TrainConfig(epochs=3, lr=2e-3), dataset_info=DATASET, **kwargs)
    return model


def trained_with_adam(seed=0, steps=3):
    model = tiny_model(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    for _ in range(steps):
        opt.zero_grad()
        model(x).neg_elbo.mean().backward()
        opt.step()
    return model, opt, x


# ---------------------------------------------------------------- round trips


def test_round_trip_gives_identical_model_configs_and_outputs(tmp_path):
    run_dir = tmp_path / "runs" / "toy-vae"
    model = save_tiny(run_dir, metrics=metrics("hello"), name="Toy VAE")
    run = load_run(run_dir)

    assert run.path == run_dir and run.name == "Toy VAE"
    assert run.model_config == model.config
    assert run.train_config == TrainConfig(epochs=3, lr=2e-3)
    assert run.dataset_info == DATASET
    assert run.metrics == metrics("hello")
    assert not run.model.training
    saved, loaded = model.state_dict(), run.model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    model.eval()
    with torch.inference_mode():
        assert torch.equal(model.encode(x)[0], run.model.encode(x)[0])
        z = torch.randn(3, 2, generator=torch.Generator().manual_seed(2))
        assert torch.equal(model.decode(z), run.model.decode(z))
        torch.manual_seed(3)
        a = model(x).neg_elbo
        torch.manual_seed(3)
        b = run.model(x).neg_elbo
    assert torch.equal(a, b)


def test_round_trip_of_ae_with_learned_variance_and_no_train_config(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="ae", latent_dim=3, hidden_sizes=(8,), image_shape=(1, 8, 8), likelihood="gaussian-learned", c=0.5))
    save_run(tmp_path / "ae", model, train_config=None, dataset_info=DATASET, metrics=empty_metrics())
    run = load_run(tmp_path / "ae")
    assert run.train_config is None and not run.model.is_variational
    assert torch.equal(run.model.log_c, model.log_c)


def test_read_run_config_matches_interfaces_format(tmp_path):
    save_tiny(tmp_path / "r")
    config = read_run_config(tmp_path / "r")
    assert set(config) == {"format_version", "name", "created", "model", "train", "dataset", "weights_sha256"}
    assert config["format_version"] == 1 and config["name"] == "r"
    assert config["created"].endswith("+00:00")
    assert config["weights_sha256"] == sha256_hex((tmp_path / "r" / "model.safetensors").read_bytes())


def test_saving_again_replaces_files_and_keeps_created(tmp_path):
    run_dir = tmp_path / "r"
    save_tiny(run_dir, seed=0)
    created = read_run_config(run_dir)["created"]
    model, opt, _ = trained_with_adam(seed=1)
    save_tiny(run_dir, seed=1, metrics=metrics("second"), optimizer_state=opt.state_dict())
    save_tiny(run_dir, seed=2, metrics=metrics("third"))
    run = load_run(run_dir)
    assert run.metrics["status"]["message"] == "third" and run.created == created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temp folders left behind
    assert load_optimizer_state(run_dir) is None  # the third save had none: no stale optimizer file


def test_optimizer_state_round_trip_into_fresh_adam(tmp_path):
    model, opt, x = trained_with_adam(steps=3)
    save_tiny(tmp_path / "r", optimizer_state=opt.state_dict())
    save_run(tmp_path / "r", model, train_config=None, dataset_info=DATASET, metrics=metrics(), optimizer_state=opt.state_dict())

    run = load_run(tmp_path / "r")
    run.model.train()
    fresh = torch.optim.Adam(run.model.parameters(), lr=1e-2)
    fresh.load_state_dict(load_optimizer_state(tmp_path / "r"))
    assert all(s["step"].item() == 3 for s in fresh.state.values())
    assert fresh.param_groups[0]["betas"] == opt.param_groups[0]["betas"]

    # One more step from the restored state equals one more step of the original.
    for m, o in ((model, opt), (run.model, fresh)):
        torch.manual_seed(7)
        o.zero_grad()
        m(x).neg_elbo.mean().backward()
        o.step()
    for a, b in zip(model.parameters(), run.model.parameters()):
        assert torch.allclose(a, b)
    assert all(s["step"].item() == 4 for s in fresh.state.values())


def test_optimizer_file_from_another_save_is_refused(tmp_path):
    _, opt, _ = trained_with_adam()
    save_tiny(tmp_path / "a", seed=0, optimizer_state=opt.state_dict())
    save_tiny(tmp_path / "b", seed=1)
    shutil.copy(tmp_path / "a" / "optimizer.safetensors", tmp_path / "b" / "optimizer.safetensors")
    with pytest.raises(ValueError, match="different saves"):
        load_optimizer_state(tmp_path / "b")


def test_load_on_requested_device(tmp_path):
    save_tiny(tmp_path / "r")
    run = load_run(tmp_path / "r", device=torch.device("cpu"))
    assert next(run.model.parameters()).device.type == "cpu"


# ---------------------------------------------------------------- rejected files


def _edit_config(run_dir, edit):
    path = run_dir / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _corrupt(case, run_dir, tmp_path):
    weights = run_dir / "model.safetensors"
    if case == "truncated safetensors":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif case == "garbage bytes":
        weights.write_bytes(b"this is not a safetensors file at all" * 10)
    elif case == "missing config":
        (run_dir / "config.json").unlink()
    elif case == "missing metrics":
        (run_dir / "metrics.json").unlink()
    elif case == "bad JSON":
        (run_dir / "config.json").write_text('{"format_version": 1,')
    elif case == "config not an object":
        (run_dir / "config.json").write_text("[1, 2]")
    elif case == "unknown field":
        _edit_config(run_dir, lambda c: c.update(colour="red"))
    elif case == "unknown model field":
        _edit_config(run_dir, lambda c: c["model"].update(depth=3))
    elif case == "missing field":
        _edit_config(run_dir, lambda c: c.pop("dataset"))
    elif case == "wrong type":
        _edit_config(run_dir, lambda c: c["model"].update(latent_dim="2"))
    elif case == "wrong train type":
        _edit_config(run_dir, lambda c: c["train"].update(epochs="many"))
    elif case == "future format":
        _edit_config(run_dir, lambda c: c.update(format_version=2))
    elif case == "dataset shape differs":
        _edit_config(run_dir, lambda c: c["dataset"].update(image_shape=[1, 28, 28]))
    elif case == "shape mismatch":
        _edit_config(run_dir, lambda c: c["model"].update(latent_dim=3))
    elif case == "sha mismatch":
        save_tiny(tmp_path / "other", seed=1)
        shutil.copy(tmp_path / "other" / "model.safetensors", weights)
    elif case == "pickle weights":
        weights.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}, protocol=4))
    elif case == "metrics without history":
        (run_dir / "metrics.json").write_text('{"steps": []}')
    else:
        raise AssertionError(case)


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("truncated safetensors", r"model\.safetensors is corrupt or truncated"),
        ("garbage bytes", r"model\.safetensors is corrupt or truncated"),
        ("missing config", r"config\.json missing; a run folder needs config\.json, model\.safetensors, metrics\.json"),
        ("missing metrics", r"metrics\.json missing"),
        ("bad JSON", r"config\.json is not valid JSON \(.* line 1, column \d+\)"),
        ("config not an object", r"config\.json: expected a JSON object, got a list"),
        ("unknown field", r"config\.json: unknown field\(s\) \['colour'\]"),
        ("unknown model field", r"config\.json: model config: unknown field\(s\) \['depth'\]"),
        ("missing field", r"config\.json: missing field\(s\) \['dataset'\]"),
        ("wrong type", r"config\.json: model config field 'latent_dim': expected an integer, got '2'"),
        ("wrong train type", r"config\.json: epochs: expected an integer"),
        ("future format", r"format_version 2 is not supported"),
        ("dataset shape differs", r"image_shape': \[1, 28, 28\] differs from the model's \[1, 8, 8\]"),
        ("shape mismatch", r"model\.safetensors: tensor '[\w.]+' has shape \[\d+(, \d+)*\] but config\.json's model expects \[\d+(, \d+)*\]"),
        ("sha mismatch", r"come from different saves"),
        ("pickle weights", r"pickle.*never opens pickle files.*safetensors"),
        ("metrics without history", r"metrics\.json field 'history'"),
    ],
)
def test_broken_run_is_refused_with_telling_message(tmp_path, case, pattern):
    run_dir = tmp_path / "broken"
    save_tiny(run_dir)
    _corrupt(case, run_dir, tmp_path)
    with pytest.raises(ValueError, match=pattern) as info:
        load_run(run_dir)
    assert str(info.value).startswith("run 'broken': ")


def test_unreadable_file_is_refused(tmp_path):
    save_tiny(tmp_path / "r")
    (tmp_path / "r" / "metrics.json").unlink()
    (tmp_path / "r" / "metrics.json").mkdir()
    with pytest.raises(ValueError, match=r"metrics\.json cannot be read"):
        load_run(tmp_path / "r")


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_run(tmp_path / "nothing")


def test_oversized_weights_refused_before_reading(tmp_path, monkeypatch):
    save_tiny(tmp_path / "r")
    monkeypatch.setattr(run_format, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(ValueError, match=r"model\.safetensors is .* MB, over the .* MB limit"):
        load_run(tmp_path / "r")


def test_save_refuses_to_replace_a_folder_with_other_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(ValueError, match="holds other files"):
        save_tiny(folder)
    assert (folder / "notes.txt").read_text() == "precious"


def test_save_refuses_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="start with '.'"):
        save_tiny(tmp_path / ".hidden")
    with pytest.raises(ValueError, match="dataset_info field 'image_shape'"):
        save_run(tmp_path / "r", tiny_model(), train_config=None, dataset_info={**DATASET, "image_shape": [1, 28, 28]}, metrics=metrics())
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_run(tmp_path / "r", tiny_model(), train_config=None, dataset_info=DATASET, metrics={"history": [], "x": torch.ones(1)})
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- recovery after a killed save


def _half_swapped(tmp_path):
    """The state a save killed between its two renames leaves: no `run`, an old and a new sibling."""
    root = tmp_path / "runs"
    save_tiny(root / "run", seed=0, metrics=metrics("old"))
    save_tiny(tmp_path / "staging" / "run", seed=1, metrics=metrics("new"))
    (root / "run").rename(root / ".run.old-0000aaaa")
    shutil.copytree(tmp_path / "staging" / "run", root / ".run.tmp-1111bbbb")
    return root


def test_reader_uses_newest_complete_sibling_without_renaming(tmp_path):
    root = _half_swapped(tmp_path)
    assert load_run(root / "run").metrics["status"]["message"] == "new"
    assert not (root / "run").exists()  # readers never rename
    [summary] = list_runs(root)
    assert summary.name == "run" and summary.error is None and summary.path == root / "run"


def test_reader_skips_incomplete_sibling(tmp_path):
    root = _half_swapped(tmp_path)
    (root / ".run.tmp-1111bbbb" / "metrics.json").unlink()
    assert load_run(root / "run").metrics["status"]["message"] == "old"


def test_next_save_restores_then_cleans_up(tmp_path):
    root = _half_swapped(tmp_path)
    (root / ".run.tmp-2222cccc").mkdir()  # a save killed while writing
    save_tiny(root / "run", seed=2, metrics=metrics("third"))
    assert sorted(p.name for p in root.iterdir()) == ["run"]
    assert load_run(root / "run").metrics["status"]["message"] == "third"


def test_only_incomplete_leftovers_mean_no_run(tmp_path):
    root = tmp_path / "runs"
    (root / ".run.tmp-1111bbbb").mkdir(parents=True)
    (root / ".run.tmp-1111bbbb" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="does not exist"):
        load_run(root / "run")
    assert list_runs(root) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_save_killed_at_random_moments_leaves_a_complete_run(tmp_path):
    versions = [trained_with_adam(seed=s, steps=s + 1)[:2] for s in (0, 1)]
    root = tmp_path / "runs"
    run_dir = root / "flip"

    def save_version(i):
        model, opt = versions[i]
        save_run(run_dir, model, train_config=None, dataset_info=DATASET, metrics=metrics(f"v{i}"), optimizer_state=opt.state_dict())

    save_version(0)
    rng = random.Random(0)
    start = time.monotonic()
    for trial in range(20):
        pid = os.fork()
        if pid == 0:  # child: save alternating versions until killed
            try:
                i = trial
                while True:
                    save_version(i % 2)
                    i += 1
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.002, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

        run = load_run(run_dir)
        i = int(run.metrics["status"]["message"][1])
        model, opt = versions[i]
        assert all(torch.equal(v, run.model.state_dict()[k]) for k, v in model.state_dict().items())
        steps = {s["step"].item() for s in load_optimizer_state(run_dir)["state"].values()}
        assert steps == {i + 1}  # the optimizer file belongs to the same save
        [summary] = list_runs(root)
        assert summary.error is None and summary.name == "flip"
    assert time.monotonic() - start < 20
