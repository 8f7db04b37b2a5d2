"""The training objective and the importance-weighted bound, per image in nats.

−ELBO(x) = E_q[−log p(x|z)] + KL(q(z|x) || p(z))            (lower is better)
IWAE_k(x) = E[log (1/k) Σ_i p(x, z_i) / q(z_i|x)],  z_i ~ q   (a lower bound on log p(x); IWAE_1 = ELBO,
                                                               and it rises towards log p(x) as k grows)
"""
from __future__ import annotations

import math

import torch

from vae_core.models import DiagonalGaussian, ForwardTerms
from vae_core.models.gaussian import standard_normal_log_prob


def kl_weight(epoch_progress: float, beta: float, warmup_epochs: float) -> float:
    """β times a linear warm-up from 0 to 1 over `warmup_epochs` (fractional epochs count)."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, epoch_progress / warmup_epochs)


def training_loss(terms: ForwardTerms, kl_scale: float, free_bits: float = 0.0) -> torch.Tensor:
    """Mean over the batch of recon + kl_scale · KL, nats per image.

    With free bits λ > 0 each latent dimension's batch-mean KL counts as at least λ nats
    (Kingma et al. 2016), so the optimiser gains nothing by pushing a dimension's KL below λ.
    """
    recon = terms.recon.mean()
    if free_bits > 0:
        kl = terms.kl_per_dim.mean(0).clamp(min=free_bits).sum()
    else:
        kl = terms.kl.mean()
    return recon + kl_scale * kl


def importance_log_weights(model, x: torch.Tensor, q: DiagonalGaussian, z: torch.Tensor, y: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(log w, log p(x|z)), each [k, B], nats: w = p(x|z) p(z) / q(z|x) for samples z [k, B, d] of q(z|x).

    All k·B samples go through the decoder as one batch. A conditional VAE takes the labels y [B]: the
    weights are then p(x|z, y) p(z) / q(z|x, y)."""
    k, b = z.shape[:2]
    # z.flatten(0, 1) runs sample-major, so each image's label repeats once per sample.
    y_k = None if y is None else y.repeat(k)
    logits = model.decode_logits(z.flatten(0, 1), y_k).unflatten(0, (k, b))
    log_px_given_z = -model.neg_log_likelihood(x, logits)
    return log_px_given_z + standard_normal_log_prob(z) - q.log_prob(z), log_px_given_z


@torch.inference_mode()
def iwae_bound(model, x: torch.Tensor, k: int, max_batch_samples: int = 16384, y: torch.Tensor | None = None) -> torch.Tensor:
    """The k-sample importance-weighted bound on log p(x), one value per image (nats, higher is better).

    All k samples of a chunk of images go through the decoder as one batch; chunks keep the
    [k, B, C, H, W] logits under `max_batch_samples` images. A conditional VAE needs the labels y [N];
    its bound is on log p(x|y), with weights p(x|z, y) p(z) / q(z|x, y).
    """
    if not model.is_variational:
        raise ValueError("the importance-weighted bound needs a VAE: an AE has no q(z|x) and no prior")
    if k < 1:
        raise ValueError(f"iw samples: expected k ≥ 1, got {k}")
    chunk = max(1, max_batch_samples // k)
    out = []
    for start in range(0, x.shape[0], chunk):
        xb = x[start : start + chunk]
        yb = None if y is None else y[start : start + chunk].to(xb.device)
        q = model.posterior(xb, yb)
        log_w, _ = importance_log_weights(model, xb, q, q.sample(k), yb)
        out.append(torch.logsumexp(log_w, dim=0) - math.log(k))
    return torch.cat(out)
