"""The shipped default models: each loads, fits the size budget, and the app opens on the 2-D VAE."""
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae_core.checkpoint import load_run
from vae_core.registry import list_runs

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "assets" / "models"
EXPECTED = {
    "vae-mlp-2d-mnist5k": ("vae", 2, "mnist5k"),
    "ae-mlp-2d-mnist5k": ("ae", 2, "mnist5k"),
    "vae-mlp-20d-mnist5k": ("vae", 20, "mnist5k"),
    "vae-conv-10d-shapes": ("vae", 10, "shapes"),
}
MAX_BYTES = 5 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_default_model_loads_and_fits_the_budget(name):
    run = load_run(ASSETS / name)
    kind, latent_dim, spec = EXPECTED[name]
    assert (run.model_config.kind, run.model_config.latent_dim, run.dataset_info["spec"]) == (kind, latent_dim, spec)
    assert sum(p.stat().st_size for p in (ASSETS / name).iterdir()) <= MAX_BYTES
    assert run.metrics["history"][-1]["test"]["neg_elbo"] > 0
    with torch.inference_mode():
        images = run.model.decode(torch.zeros(3, latent_dim))
    assert images.shape[1:] == tuple(run.model_config.image_shape)


def test_the_2d_vae_and_ae_share_one_architecture():
    vae, ae = load_run(ASSETS / "vae-mlp-2d-mnist5k"), load_run(ASSETS / "ae-mlp-2d-mnist5k")
    differs = {k for k, v in vae.model_config.to_dict().items() if ae.model_config.to_dict()[k] != v}
    assert differs == {"kind"}


def test_the_registry_lists_every_asset_without_errors():
    runs = {r.name: r for r in list_runs(ASSETS)}
    assert set(EXPECTED) <= set(runs)
    assert all(r.error is None for r in runs.values())


def test_the_app_opens_on_the_shipped_2d_vae_and_decodes(monkeypatch, tmp_path):
    monkeypatch.delenv("VAE_ASSETS_MODELS_DIR", raising=False)
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["model_path"].endswith("vae-mlp-2d-mnist5k")
    image = np.array(at.session_state["explore_decoded"])
    assert image.ndim == 2 and image.max() > 0  # a digit-like mean image, not a blank canvas
