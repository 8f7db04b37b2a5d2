"""The front door: `import vae_core` gives a notebook everything it needs, and imports nothing heavy by itself."""
import subprocess
import sys
from pathlib import Path

import pytest

import vae_core

REPO = Path(__file__).resolve().parents[2]


def test_a_notebook_trains_saves_lists_loads_and_evaluates_through_the_front_door(tmp_path):
    data = vae_core.load_dataset("digits")
    result = vae_core.train_run(vae_core.ModelConfig(latent_dim=2, hidden_sizes=(32,)),
                                vae_core.TrainConfig(epochs=1, device="cpu"), "digits", tmp_path / "nb", dataset=data)
    assert [r.name for r in vae_core.list_runs(tmp_path)] == ["nb"]
    run = vae_core.load_run(tmp_path / "nb")
    scores = vae_core.evaluate(run.model, data.test_x, seed=0)
    assert scores["neg_elbo"] == pytest.approx(result.history[-1]["test"]["neg_elbo"], rel=1e-6)
    vae_core.save_run(tmp_path / "copy", run.model, train_config=run.train_config, dataset_info=run.dataset_info,
                      metrics=run.metrics)
    assert vae_core.load_run(tmp_path / "copy").weights_sha256 == run.weights_sha256
    assert isinstance(vae_core.build_model(run.model_config), type(run.model))


def test_every_front_door_name_resolves_and_an_unknown_one_is_an_attribute_error():
    for name in vae_core.__all__:
        assert callable(getattr(vae_core, name)), name
    assert set(vae_core.__all__) <= set(dir(vae_core))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        vae_core.nothing_here


def test_importing_the_package_loads_no_torch():
    code = "import sys, vae_core; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
