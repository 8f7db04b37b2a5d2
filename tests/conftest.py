import os

import pytest
import torch

os.environ.setdefault("VAE_DATA_DIR", "/nonexistent-vae-data-dir")  # tests never download


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    yield
