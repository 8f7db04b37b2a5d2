"""The shipped 2-D and 20-D MLP VAEs the speed benchmarks time, or stand-ins of the same shape."""
from __future__ import annotations

from pathlib import Path

import torch

from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "assets" / "models"
SHIPPED = {2: ("vae-mlp-2d-mnist5k", (256, 128)), 20: ("vae-mlp-20d-mnist5k", (400,))}


def load_or_build(latent_dim: int) -> tuple[torch.nn.Module, str]:
    """The shipped model when it exists; else its architecture with random weights (same cost), and which."""
    name, hidden_sizes = SHIPPED[latent_dim]
    asset = ASSETS / name
    if asset.exists():
        return load_run(asset).model, f"{asset.relative_to(REPO)}"
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=latent_dim, hidden_sizes=hidden_sizes)).eval()
    return model, f"random weights ({asset.relative_to(REPO)} not found)"
