"""Evaluation on a whole split: −ELBO and its terms per image (nats), and the IWAE estimate of −log p(x).

neg_elbo = recon + kl, with recon = −log p(x|z) for one z ~ q(z|x) and kl = KL(q(z|x) || p(z)) in
closed form (lower is better). nll_iw = −IWAE_k(x) ≤ neg_elbo on average, and tighter as k grows.
"""
from __future__ import annotations

import contextlib

import torch

from vae_core.objective import iwae_bound
from vae_core.tensors import model_device, plain_cpu

# Burda et al. (2016): a latent dimension is active when its posterior mean varies over the data by more than this.
ACTIVE_UNIT_THRESHOLD = 0.01


@contextlib.contextmanager
def _seeded_rng(device: torch.device, seed: int | None):
    """Torch's RNG starts from `seed` inside the block; the global RNG state is restored after it."""
    if seed is None:
        yield
        return
    if device.type == "cuda":
        # torch.manual_seed seeds every GPU, so every GPU's state is saved and restored.
        devices = list(range(torch.cuda.device_count()))
    else:
        devices = [] if device.type == "cpu" else [device]
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        yield


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> tuple[int, torch.Tensor]:
    """(count, variances [d]): dimension u is active when Cov_x(E_q[z_u]) > threshold (Burda et al. 2016).

    The variance over images of μ_u is the unbiased one, like the trainer's; one image gives zeros.
    """
    mu = torch.as_tensor(mu).float()
    if mu.shape[0] > 1:
        variances = mu.var(0)
    else:
        variances = torch.zeros(mu.shape[-1])
    return int((variances > threshold).sum()), plain_cpu(variances)



@torch.inference_mode()
def per_image_terms(
    model, x: torch.Tensor, iw_samples: int = 0, batch_size: int = 1000, generator_seed: int | None = None,
    y: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Per-image recon, kl, neg_elbo [N] (nats), kl_per_dim and mu [N, d]; nll_iw [N] for a VAE when iw_samples > 0.

    Runs the model in whatever train/eval mode the caller set; returns CPU tensors. `y` are the
    labels [N], read only by a conditional VAE (whose terms are then those of log p(x|y)).
    """
    if x.shape[0] == 0:
        raise ValueError("evaluation needs at least one image, got an empty set")
    device = model_device(model)
    with_iw = iw_samples > 0 and model.is_variational
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("recon", "kl", "neg_elbo", "kl_per_dim", "mu")}
    if with_iw:
        parts["nll_iw"] = []
    with _seeded_rng(device, generator_seed):
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size].to(device, non_blocking=True)
            yb = None if y is None else y[start : start + batch_size].to(device, non_blocking=True)
            terms = model(xb, yb)
            for key in ("recon", "kl", "neg_elbo", "kl_per_dim", "mu"):
                parts[key].append(getattr(terms, key).float().cpu())
            if with_iw:
                parts["nll_iw"].append(-iwae_bound(model, xb, iw_samples, y=yb).float().cpu())
    return {key: plain_cpu(torch.cat(chunks)) for key, chunks in parts.items()}


def evaluate(
    model, x: torch.Tensor, batch_size: int = 1000, iw_samples: int = 0, seed: int | None = None,
    y: torch.Tensor | None = None,
) -> dict:
    """Means over images of neg_elbo, recon, kl (nats per image), kl_per_dim, active_units, n; nll_iw if iw_samples > 0.

    `seed` makes the sampled z (and the IWAE samples) reproducible without touching the global RNG.
    `y` are the labels [N], which a conditional VAE needs.
    """
    terms = per_image_terms(model, x, iw_samples=iw_samples, batch_size=batch_size, generator_seed=seed, y=y)
    n_active, _ = active_units(terms["mu"])
    result = {
        "neg_elbo": terms["neg_elbo"].double().mean().item(),
        "recon": terms["recon"].double().mean().item(),
        "kl": terms["kl"].double().mean().item(),
        "kl_per_dim": terms["kl_per_dim"].double().mean(0).tolist(),
        "active_units": n_active,
        "n": int(x.shape[0]),
    }
    if "nll_iw" in terms:
        result["nll_iw"] = terms["nll_iw"].double().mean().item()
    return result
