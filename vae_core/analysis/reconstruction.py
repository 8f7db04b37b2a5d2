"""Everything the Reconstruct page shows for a batch of images, from one call per model."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vae_core.analysis.decoding import reconstruct, stochastic_reconstructions
from vae_core.evaluation import per_image_terms


@dataclass
class ReconstructionReport:
    """Images are [B, C, H, W] in [0, 1]; samples [S, B, C, H, W]; error [B, H, W] = |x − x̂| averaged
    over channels. terms: per image [B], nats: recon = −log p(x|z), kl, neg_elbo (lower is better) and,
    for a VAE with iw_samples > 0, nll_iw = −IWAE_k (an estimate of −log p(x), ≤ neg_elbo on average)."""

    inputs: torch.Tensor
    mean: torch.Tensor
    samples: torch.Tensor
    error: torch.Tensor
    terms: dict[str, torch.Tensor]


def reconstruction_report(
    model, x: torch.Tensor, n_samples: int = 4, iw_samples: int = 100, seed: int = 0, y: torch.Tensor | None = None
) -> ReconstructionReport:
    """Decoder-mean and stochastic reconstructions of x [B, C, H, W], the error map and the per-image terms.

    `seed` fixes the stochastic draws and the sampled z of the terms, so a rerun shows the same numbers.
    `y` are the images' labels [B], which a conditional VAE encodes and decodes with."""
    if x.dim() != 4 or x.shape[0] == 0:
        raise ValueError(f"reconstruction: expected a batch of images [B, C, H, W], got shape {list(x.shape)}")
    if tuple(x.shape[1:]) != tuple(model.config.image_shape):
        raise ValueError(
            f"reconstruction: images of shape {list(x.shape[1:])} do not fit a model of shape {list(model.config.image_shape)}"
        )
    inputs = x.detach().cpu().float()
    mean = reconstruct(model, inputs, y)
    samples = stochastic_reconstructions(model, inputs, n_samples, seed=seed, y=y)
    error = (inputs - mean).abs().mean(1)
    terms = per_image_terms(model, inputs, iw_samples=iw_samples, generator_seed=seed, y=y)
    return ReconstructionReport(inputs, mean, samples, error, terms)
