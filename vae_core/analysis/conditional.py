"""A conditional VAE's two inputs apart: the label y says which class to draw, the latent z how (the style).

Because p(x|z, y) is told the class, the encoder has no reason to spend nats on it in z: z keeps
what the label does not say (slant, stroke width, size). Decoding one z with every label shows that.
"""
from __future__ import annotations

import torch

from vae_core.analysis.decoding import decode_latents
from vae_core.tensors import plain_cpu


def _require_conditional(model) -> None:
    if not model.is_conditional:
        raise ValueError("decoding with a chosen class needs a conditional VAE (cvae); this model ignores labels")


@torch.inference_mode()
def decode_every_class(model, z) -> torch.Tensor:
    """Latents [..., d] decoded once per class: images [K, ..., C, H, W]; index k holds class k in the same styles."""
    _require_conditional(model)
    k = model.config.num_classes
    z = torch.as_tensor(z, dtype=torch.float32).detach().cpu()
    labels = torch.arange(k).reshape(k, *([1] * (z.dim() - 1)))  # broadcast over z's leading dims
    return plain_cpu(decode_latents(model, z.expand(k, *z.shape), labels))


def class_style_grid(model, n_styles: int, seed: int | None = None) -> torch.Tensor:
    """Images [K, n_styles, C, H, W]: row k is class k, column j one z_j ~ N(0, I) shared by every row."""
    _require_conditional(model)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return decode_every_class(model, torch.randn((n_styles, model.config.latent_dim), generator=generator))
