"""The shipped default models: each loads, fits the size budget, and the app opens on the 2-D VAE."""
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae_core.runs.checkpoint import load_run
from vae_core.runs.registry import list_runs

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "assets" / "models"
EXPECTED = {
    "vae-mlp-2d-mnist5k": ("vae", 2, "mnist5k"),
    "ae-mlp-2d-mnist5k": ("ae", 2, "mnist5k"),
    "cvae-mlp-2d-mnist5k": ("cvae", 2, "mnist5k"),
    "vae-mlp-20d-mnist5k": ("vae", 20, "mnist5k"),
    "vae-conv-10d-shapes": ("vae", 10, "shapes"),
    **{f"vae-mlp-6d-shapes-beta{b}": ("vae", 6, "shapes:32:20000") for b in (1, 4, 16, 32)},
}
SWEEP_TABLE = ASSETS / "vae-mlp-6d-shapes-sweep.json"
MAX_BYTES = 5 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_default_model_loads_and_fits_the_budget(name):
    run = load_run(ASSETS / name)
    kind, latent_dim, spec = EXPECTED[name]
    assert (run.model_config.kind, run.model_config.latent_dim, run.dataset_info["spec"]) == (kind, latent_dim, spec)
    assert sum(p.stat().st_size for p in (ASSETS / name).iterdir()) <= MAX_BYTES
    assert run.metrics["history"][-1]["test"]["neg_elbo"] > 0
    with torch.inference_mode():
        images = run.model.decode(torch.zeros(3, latent_dim), torch.arange(3))  # labels: only a cvae reads them
    assert images.shape[1:] == tuple(run.model_config.image_shape)


def test_the_2d_vae_and_ae_share_one_architecture():
    vae, ae = load_run(ASSETS / "vae-mlp-2d-mnist5k"), load_run(ASSETS / "ae-mlp-2d-mnist5k")
    differs = {k for k, v in vae.model_config.to_dict().items() if ae.model_config.to_dict()[k] != v}
    assert differs == {"kind"}


def test_the_shipped_cvae_draws_the_class_it_is_given():
    from vae_core.analysis import decode_every_class
    from vae_core.data import load_dataset

    run = load_run(ASSETS / "cvae-mlp-2d-mnist5k")
    data = load_dataset("mnist5k")
    class_means = torch.stack([data.test_x[data.test_y == k].mean(0) for k in range(10)]).flatten(1)
    # One style (z = 0) written as each class: the image for label k looks most like the average k.
    drawn = decode_every_class(run.model, torch.zeros(2)).flatten(1)
    assert torch.cdist(drawn, class_means).argmin(1).tolist() == list(range(10))


def test_the_shipped_beta_sweep_table_matches_its_runs():
    from vae_core.analysis.disentanglement import score_on_shapes
    from vae_core.sweep import read_sweep_table

    table = read_sweep_table(SWEEP_TABLE)
    assert [r.beta for r in table.rows] == [1, 4, 16, 32]
    for row in table.rows:
        run = load_run(ASSETS / row.run)
        assert run.train_config.beta == row.beta
        # The sweep and the trainer's last epoch evaluate the same test split with the same seed.
        assert row.neg_elbo == pytest.approx(run.metrics["history"][-1]["test"]["neg_elbo"], rel=1e-4)
    # MIG is a deterministic function of the weights and the score seed: scoring again gives the table's value.
    last = table.rows[-1]
    mig, _ = score_on_shapes(load_run(ASSETS / last.run).model.eval(), 32, seed=table.scores.seed,
                             mig_samples=table.scores.mig_samples, factor_vae_train=2, factor_vae_eval=2, factor_vae_batch=2)
    assert mig.score == pytest.approx(last.mig, abs=1e-6)


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
