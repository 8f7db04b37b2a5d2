"""Images from latents: reconstructions, prior samples, traversals and manifold grids.

Each function builds all its latents first and decodes them in one call; images are decoder means
E[x|z] in [0, 1], returned on the CPU. A conditional VAE also needs labels: `y` per image, or `label`,
one class for every latent; other models ignore both.
"""
from __future__ import annotations

import torch

from vae_core.analysis.latent import plane_latents
from vae_core.tensors import model_device, plain_cpu


def decode_latents(model, z: torch.Tensor, y=None) -> torch.Tensor:
    """Latents [..., d] -> images [..., C, H, W] in one decode call, on the model's device.

    `y` is one class (an int) for every latent, or labels broadcastable to z's leading dims."""
    flat = z.reshape(-1, z.shape[-1]).to(model_device(model), torch.float32)
    if y is None:  # decode(z) alone, so any object with a one-argument decode still works
        images = model.decode(flat)
    else:
        if torch.is_tensor(y) and y.dim() > 0:
            y = y.to(model_device(model)).expand(z.shape[:-1]).reshape(-1)
        images = model.decode(flat, y)
    return images.reshape(*z.shape[:-1], *images.shape[1:])


@torch.inference_mode()
def decode_points(model, z, y=None) -> torch.Tensor:
    """Decoder means E[x|z] [N, C, H, W] of latent points z [N, d] (or one point [d]), decoded on the
    model's device; a conditional VAE draws class y (one int, or labels [N]), E[x|z, y]."""
    z = torch.as_tensor(z, dtype=torch.float32)
    z = z.reshape(1, -1) if z.dim() == 1 else z
    if z.shape[-1] != model.config.latent_dim:
        raise ValueError(f"latent point: expected {model.config.latent_dim} coordinates, got {z.shape[-1]}")
    return plain_cpu(decode_latents(model, z, y))


@torch.inference_mode()
def reconstruct(model, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """The decoder mean at z = μ(x) (an AE's code), [B, C, H, W]; a CVAE encodes and decodes with labels y [B]."""
    y = None if y is None else y.to(model_device(model))
    mu, _ = model.encode(x.to(model_device(model)), y)
    return plain_cpu(decode_latents(model, mu, y))


@torch.inference_mode()
def stochastic_reconstructions(
    model, x: torch.Tensor, n_samples: int, seed: int | None = None, y: torch.Tensor | None = None
) -> torch.Tensor:
    """Decoder means of n_samples draws z ~ q(z|x) per image, [n_samples, B, C, H, W].

    An AE has no q(z|x): every sample is its deterministic reconstruction. A CVAE needs labels y [B].
    """
    y = None if y is None else y.to(model_device(model))
    x = x.to(model_device(model))
    if not model.is_variational:
        return plain_cpu(decode_latents(model, model.encode(x)[0]).expand(n_samples, *x.shape))
    # ε is drawn on the CPU so a seed gives the same samples on every device.
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return plain_cpu(decode_latents(model, model.posterior(x, y).sample(n_samples, generator), y))


@torch.inference_mode()
def prior_samples(model, n: int, seed: int | None = None, label=None) -> torch.Tensor:
    """Decoder means of n draws z ~ N(0, I), [n, C, H, W]; the same seed gives the same images.

    A CVAE decodes them as class `label` (an int, or labels [n])."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return plain_cpu(decode_latents(model, torch.randn((n, model.config.latent_dim), generator=generator), label))


@torch.inference_mode()
def traversal_grid(model, z0: torch.Tensor, dims: list[int], values, label: int | None = None) -> torch.Tensor:
    """Row i varies latent dims[i] through `values` [V], other dims fixed at z0: images [len(dims), V, C, H, W].

    A CVAE decodes every image as class `label`."""
    z0 = torch.as_tensor(z0, dtype=torch.float32).detach().cpu().reshape(-1)
    values = torch.as_tensor(values, dtype=torch.float32).detach().cpu().reshape(-1)
    d = z0.shape[0]
    if any(not 0 <= dim < d for dim in dims):
        raise ValueError(f"traversal: latent dimensions must lie in 0..{d - 1}, got {list(dims)}")
    z = z0.repeat(len(dims), values.shape[0], 1)  # [len(dims), V, d]
    rows = torch.arange(len(dims))
    z[rows, :, torch.as_tensor(list(dims), dtype=torch.long)] = values
    return plain_cpu(decode_latents(model, z, label))


def latent_traversal(model, z0: torch.Tensor, dim: int, values, label: int | None = None) -> torch.Tensor:
    """Latent `dim` set to each of `values` [V], the others fixed at z0 [d]: images [V, C, H, W]."""
    return traversal_grid(model, z0, [dim], values, label)[0]


def standard_normal_quantiles(n: int, quantile_range: tuple[float, float] = (0.05, 0.95)) -> torch.Tensor:
    """Φ⁻¹(linspace(q0, q1, n)) [n], ascending: points equally spaced in probability under N(0, 1)."""
    q0, q1 = quantile_range
    if not 0.0 < q0 < q1 < 1.0:
        raise ValueError(f"quantile range: expected 0 < q0 < q1 < 1, got {quantile_range}")
    probabilities = torch.linspace(q0, q1, n, dtype=torch.float64)
    return torch.special.ndtri(probabilities).float()


@torch.inference_mode()
def manifold_grid(
    model, n: int = 15, dims: tuple[int, int] = (0, 1), base_z=None, quantile_range=(0.05, 0.95), label: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images [n, n, C, H, W], grid_values [n] ascending) over two latent dims at normal quantiles.

    images[i, j] decodes dims[0] = grid_values[j] and dims[1] = grid_values[n − 1 − i]: rows run from
    high to low value of the second dim, so the grid reads like a plot with y pointing up.
    """
    values = standard_normal_quantiles(n, quantile_range)
    return plain_cpu(_decode_plane(model, values, values, dims, base_z, label)), plain_cpu(values)


@torch.inference_mode()
def manifold_grid_in_box(
    model, x_range, y_range, n: int, dims: tuple[int, int] = (0, 1), base_z=None, label: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images [n, n, C, H, W], xs [n], ys [n]) over a visible plot region, linearly spaced and ascending.

    images[i, j] decodes dims[0] = xs[j] and dims[1] = ys[n − 1 − i] (top row is the top of the plot).
    """
    xs = torch.linspace(float(x_range[0]), float(x_range[1]), n)
    ys = torch.linspace(float(y_range[0]), float(y_range[1]), n)
    return plain_cpu(_decode_plane(model, xs, ys, dims, base_z, label)), plain_cpu(xs), plain_cpu(ys)


def _decode_plane(model, xs: torch.Tensor, ys: torch.Tensor, dims, base_z, label=None) -> torch.Tensor:
    return decode_latents(model, plane_latents(model.config.latent_dim, dims, xs, ys, base_z), label)
