"""Shared fixtures for the explorer's tests: tiny runs trained once per session, so no test needs assets/."""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae_core.models import ModelConfig
from vae_core.training.config import TrainConfig
from vae_core.training.run import train_run

TINY_VAE = "vae-mlp-2d-digits"
TINY_AE = "ae-mlp-2d-digits"
GAUSSIAN_CS = (0.1, 1.0)
APP_PATH = Path(__file__).resolve().parents[2] / "explorer" / "app.py"


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    # On a busy 2-core machine two intra-op threads make each tiny training step ~40× slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _train(folder, name, **model):
    config = ModelConfig(latent_dim=2, hidden_sizes=(32,), **model)
    train_run(config, TrainConfig(epochs=2, batch_size=64, device="cpu"), "digits", folder / name)


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory, one_torch_thread):
    """(assets_dir, runs_dir): the 2-D VAE as the shipped default; the same-architecture AE and two
    Gaussian VAEs (c = 0.1, 1) as runs trained by a user. All on `digits`, 2 epochs."""
    assets = tmp_path_factory.mktemp("assets-models")
    runs = tmp_path_factory.mktemp("runs")
    _train(assets, TINY_VAE)
    _train(runs, TINY_AE, kind="ae")
    for c in GAUSSIAN_CS:
        _train(runs, f"{TINY_VAE}-gauss-c{c:g}", likelihood="gaussian", c=c)
    return assets, runs


@pytest.fixture
def tiny_runs_dir(tiny_model_dirs, monkeypatch):
    """The runs folder, with VAE_RUNS_DIR and VAE_ASSETS_MODELS_DIR pointing the app at the tiny models."""
    assets, runs = tiny_model_dirs
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(assets))
    monkeypatch.setenv("VAE_RUNS_DIR", str(runs))
    return runs


@pytest.fixture
def open_page(tiny_runs_dir):
    """open_page("page_scripts/train.py") -> an AppTest of the whole app, switched to that page and run."""

    def open_(page: str) -> AppTest:
        at = AppTest.from_file(str(APP_PATH), default_timeout=90)
        at.run()
        at.switch_page(page)
        at.run()
        return at

    return open_
