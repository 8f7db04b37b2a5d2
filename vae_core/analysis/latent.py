"""The latent space of a fitted model: encodings, active units, KL per dimension, paths, plot overlays."""
from __future__ import annotations

import math

import numpy as np
import torch

from vae_core.models import DiagonalGaussian
from vae_core.models.gaussian import std_from_logvar
from vae_core.tensors import model_device, plain_cpu


@torch.inference_mode()
def encode_dataset(
    model, x: torch.Tensor, batch_size: int = 2048, y: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(μ [N, d], log σ² [N, d]) of q(z|x) for every image; for an AE (code [N, d], None).

    A conditional VAE encodes q(z|x, y) with the labels y [N]."""
    device = model_device(model)
    mus, logvars = [], []
    for start in range(0, x.shape[0], batch_size):
        yb = None if y is None else y[start : start + batch_size].to(device, non_blocking=True)
        mu, logvar = model.encode(x[start : start + batch_size].to(device, non_blocking=True), yb)
        mus.append(mu.float().cpu())
        if logvar is not None:
            logvars.append(logvar.float().cpu())
    if not mus:
        d = model.config.latent_dim
        empty = torch.zeros(0, d)
        return plain_cpu(empty), (plain_cpu(empty) if model.is_variational else None)
    return plain_cpu(torch.cat(mus)), (plain_cpu(torch.cat(logvars)) if logvars else None)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
    """Mean over images of KL(q(z_u|x) || N(0, 1)) for each dimension u, nats, [d]."""
    if logvar is None:
        raise ValueError("KL per dimension needs a VAE: an AE has no posterior q(z|x), only a point code")
    mu, logvar = torch.as_tensor(mu).float(), torch.as_tensor(logvar).float()
    return plain_cpu(DiagonalGaussian(mu, logvar).kl_per_dim().mean(0))


def posterior_std(logvar: torch.Tensor) -> torch.Tensor:
    """σ = exp(½ log σ²) of q(z|x), elementwise (a CPU copy)."""
    return plain_cpu(std_from_logvar(torch.as_tensor(logvar).float()))


def plane_latents(latent_dim: int, dims: tuple[int, int], xs: torch.Tensor, ys: torch.Tensor, base_z=None) -> torch.Tensor:
    """Latents [len(ys), len(xs), d] of the plane spanned by latent dims (dims[0], dims[1]): entry [i, j] has
    dims[0] = xs[j] and dims[1] = ys[len(ys) − 1 − i] (the top row is the top of a plot), the other dims from
    base_z, else 0."""
    dim_x, dim_y = dims
    if dim_x == dim_y or not (0 <= dim_x < latent_dim and 0 <= dim_y < latent_dim):
        raise ValueError(f"latent plane: needs two different latent dimensions in 0..{latent_dim - 1}, got {tuple(dims)}")
    base = torch.zeros(latent_dim) if base_z is None else torch.as_tensor(base_z, dtype=torch.float32).detach().cpu().reshape(latent_dim)
    z = base.repeat(ys.shape[0], xs.shape[0], 1)
    z[:, :, dim_x] = xs[None, :]
    z[:, :, dim_y] = ys.flip(0)[:, None]
    return z


def point_in_plane(latent_dim: int, dims: tuple[int, int], x: float, y: float, base_z=None) -> torch.Tensor:
    """The latent z [d] at (x, y) of the plane spanned by latent dims (dims[0], dims[1]); the other dims from
    base_z, else 0 (what a map of two latent dimensions shows at that point)."""
    return plane_latents(latent_dim, dims, torch.tensor([float(x)]), torch.tensor([float(y)]), base_z)[0, 0]


def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """`steps` latents [steps, d] from z_a to z_b, both ends included.

    'slerp' turns the direction along the great circle and moves the norm linearly from |z_a| to |z_b|,
    so the path stays where the prior's mass is instead of cutting through the low-norm middle.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"interpolation method: expected 'linear' or 'slerp', got {method!r}")
    if steps < 1:
        raise ValueError(f"interpolation steps: expected at least 1, got {steps}")
    z_a, z_b = torch.as_tensor(z_a), torch.as_tensor(z_b)
    dtype = z_a.dtype if z_a.is_floating_point() else torch.float32
    a, b = z_a.detach().cpu().double(), z_b.detach().cpu().double()
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]
    path = (1 - t) * a + t * b
    if method == "slerp":
        path = _slerp(a, b, t, fallback=path)
    path = path.to(dtype)
    # Exact endpoints, free of rounding in the trigonometry.
    path[0] = z_a.detach().cpu().to(dtype)
    if steps > 1:
        path[-1] = z_b.detach().cpu().to(dtype)
    return path


def _slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    norm_a, norm_b = a.norm(), b.norm()
    if min(norm_a, norm_b) < 1e-12:
        return fallback
    u_a, u_b = a / norm_a, b / norm_b
    omega = torch.arccos(torch.clamp(u_a @ u_b, -1.0, 1.0))
    sin_omega = torch.sin(omega)
    # Near-parallel (or opposite) directions leave the great circle undefined or ill-conditioned.
    if sin_omega < 1e-6:
        return fallback
    direction = (torch.sin((1 - t) * omega) * u_a + torch.sin(t * omega) * u_b) / sin_omega
    return direction * ((1 - t) * norm_a + t * norm_b)


def posterior_ellipse(mu2, logvar2, n_std: float = 2.0, n_points: int = 48) -> np.ndarray:
    """Closed outlines [K, n_points, 2] of the axis-aligned ellipses μ ± n_std·σ of K 2-D posteriors.

    The first and last points coincide, so a line plot closes the ellipse.
    """
    mu2 = np.asarray(mu2, dtype=np.float64).reshape(-1, 2)
    sigma = np.exp(0.5 * np.asarray(logvar2, dtype=np.float64).reshape(-1, 2))
    theta = np.linspace(0.0, 2 * math.pi, n_points)
    unit_circle = np.stack([np.cos(theta), np.sin(theta)], axis=-1)  # [n_points, 2]
    return mu2[:, None, :] + n_std * sigma[:, None, :] * unit_circle[None]


def prior_density_grid(x_range, y_range, n: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs [n], ys [n], density [n, n]) of N(0, I) in 2-D.

    density[i, j] is the density at (xs[j], ys[i]): rows follow y, as contour plots expect."""
    xs = np.linspace(x_range[0], x_range[1], n)
    ys = np.linspace(y_range[0], y_range[1], n)
    grid_x, grid_y = np.meshgrid(xs, ys)
    density = np.exp(-0.5 * (grid_x**2 + grid_y**2)) / (2 * math.pi)
    return xs, ys, density
