"""Small models, images and a decode spy shared by the vae_core tests."""
import torch

from vae_core.models import ModelConfig, build_model


def tiny_model(latent_dim=2, kind="vae", seed=0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(kind=kind, latent_dim=latent_dim, hidden_sizes=(32,), image_shape=(1, 8, 8)))
    return model.eval()


def images(n=64, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


class DecodeSpy:
    """Wraps model.decode to record every batch of latents it receives."""

    def __init__(self, model):
        self.calls = []
        self.original = model.decode
        model.decode = self

    def __call__(self, z):
        self.calls.append(z.detach().cpu().clone())
        return self.original(z)


def direct_decode(model, z):
    with torch.no_grad():
        return model.decode(z)
