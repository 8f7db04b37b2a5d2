import os

import pytest
import torch

os.environ.setdefault("VAE_DATA_DIR", "/nonexistent-vae-data-dir")  # tests never download

# The hostile-file fixtures (good_run, temp_folders_under_tmp_path), for the vae_core and the app tests alike.
pytest_plugins = ["tests.hostile_files"]


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    yield
