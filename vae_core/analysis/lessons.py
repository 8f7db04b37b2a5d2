"""The numbers behind the explorer's lessons: KL of one Gaussian, the reparameterization gradient,
the ELBO of one image term by term, and decoding chosen latent points.

KL(N(μ, σ²) || N(0, 1)) = ½(μ² + σ² − 1 − log σ²) nats.
ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) || p(z)) ≤ IWAE_k(x) ≤ log p(x).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from vae_core.analysis.projection import project_2d
from vae_core.models import DiagonalGaussian
from vae_core.models.gaussian import reparameterize
from vae_core.objective import importance_log_weights
from vae_core.tensors import model_device, plain_cpu


def normal_kl(mu: float, sigma: float) -> float:
    """KL(N(μ, σ²) || N(0, 1)) in nats (closed form, ≥ 0, zero only at μ = 0, σ = 1)."""
    if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"σ must be a positive number and μ finite, got μ={mu!r}, σ={sigma!r}")
    logvar = torch.tensor(2.0 * math.log(sigma), dtype=torch.float64)
    return float(DiagonalGaussian(torch.tensor(float(mu), dtype=torch.float64), logvar).kl_per_dim())


def normal_kl_parts(mu: float, sigma: float) -> dict[str, float]:
    """The KL split into what the mean costs, ½μ², and what the spread costs, ½(σ² − 1 − log σ²); nats."""
    total = normal_kl(mu, sigma)
    mean = 0.5 * float(mu) ** 2
    return {"mean": mean, "spread": total - mean, "total": total}


def normal_densities(mu: float, sigma: float, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs [n], q [n], p [n]): the densities of q = N(μ, σ²) and the prior p = N(0, 1) on a range showing both."""
    if not sigma > 0:
        raise ValueError(f"σ must be positive, got {sigma!r}")
    lo = min(-4.0, mu - 4.0 * sigma)
    hi = max(4.0, mu + 4.0 * sigma)
    xs = np.linspace(lo, hi, n)
    q = np.exp(-0.5 * ((xs - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    p = np.exp(-0.5 * xs**2) / math.sqrt(2 * math.pi)
    return xs, q, p


def reparameterized_points(mu, sigma, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(ε [n, d], z [n, d]) with ε ~ N(0, I) and z = μ + ε·σ, for μ and σ of shape [d]."""
    mu = torch.as_tensor(mu, dtype=torch.float32).reshape(-1)
    sigma = torch.as_tensor(sigma, dtype=torch.float32).reshape(-1)
    if (sigma <= 0).any():
        raise ValueError(f"σ must be positive in every dimension, got {sigma.tolist()}")
    eps = torch.randn((n, mu.shape[0]), generator=torch.Generator().manual_seed(seed))
    return eps, reparameterize(mu, sigma, eps)


def _grad_norm(grads) -> float | None:
    """Total L2 norm of the gradients that exist; None when no parameter received one."""
    present = [g for g in grads if g is not None]
    if not present:
        return None
    return float(torch.sqrt(sum(g.double().pow(2).sum() for g in present)))


def reparameterization_gradients(model, x: torch.Tensor, seed: int = 0) -> dict:
    """Gradient norms of the reconstruction term −log p(x|z) w.r.t. the encoder and decoder weights,
    with z = μ + ε·σ (the trick) and with the same z drawn from N(μ, σ²) as a plain number; ε comes from `seed`.

    Returns {"with_trick": {"encoder": float, "decoder": float}, "without_trick": {...}}; an entry is
    None when no gradient reaches those weights. Works on a private copy, so a shared, frozen model is safe.
    """
    if not model.is_variational:
        raise ValueError("the reparameterization trick needs a VAE: an AE has no sampling step")
    # The app shares one read-only model between users with requires_grad off; flipping it would race.
    model = copy.deepcopy(model).requires_grad_(True)
    device = model_device(model)
    x = x.to(device)
    encoder = [p for p in model.encoder.parameters()]
    decoder = [p for p in model.decoder.parameters()]
    generator = torch.Generator().manual_seed(seed)
    result = {}
    with torch.inference_mode(False), torch.enable_grad():
        q = model.posterior(x)
        z = q.sample(generator=generator)
        for name, z in (
            ("with_trick", z),
            # Sampling straight from N(μ, σ²) gives a number, not a function of μ and σ: the path back is cut.
            ("without_trick", z.detach()),
        ):
            recon = model.neg_log_likelihood(x, model.decode_logits(z)).sum()
            grads = torch.autograd.grad(recon, encoder + decoder, allow_unused=True, retain_graph=True)
            result[name] = {"encoder": _grad_norm(grads[: len(encoder)]), "decoder": _grad_norm(grads[len(encoder):])}
    return result


@torch.inference_mode()
def elbo_breakdown(model, x: torch.Tensor, k: int = 100, seed: int = 0) -> dict[str, torch.Tensor]:
    """Per image [B], nats: log_px_given_z (mean over k draws z ~ q), kl (closed form), elbo = their difference,
    elbo_mc (the same k draws, with the KL estimated from them too) and iwae (IWAE_k on those draws).

    iwae ≥ elbo_mc always (Jensen on the same samples); iwae ≥ elbo in expectation.
    """
    if not model.is_variational:
        raise ValueError("the ELBO needs a VAE: an AE has no q(z|x) and no prior, so no KL and no bound")
    if k < 1:
        raise ValueError(f"samples: expected k ≥ 1, got {k}")
    device = model_device(model)
    x = x.to(device)
    q = model.posterior(x)
    z = q.sample(k, generator=torch.Generator().manual_seed(seed))  # [k, B, d], drawn on the CPU
    log_w, log_px_given_z = importance_log_weights(model, x, q, z)  # [k, B] each
    kl = q.kl()
    expected = log_px_given_z.mean(0)
    out = {
        "log_px_given_z": expected,
        "kl": kl,
        "elbo": expected - kl,
        "elbo_mc": log_w.mean(0),
        "iwae": torch.logsumexp(log_w, dim=0) - math.log(k),
    }
    return {name: plain_cpu(value.float()) for name, value in out.items()}


def pixel_pca_2d(x: torch.Tensor) -> np.ndarray:
    """The images [N, C, H, W] projected onto their two leading principal components, [N, 2]: the
    linear baseline an autoencoder's 2-D map is compared with."""
    return project_2d(torch.as_tensor(x).flatten(1), "pca")
