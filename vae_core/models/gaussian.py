"""The encoder's posterior q(z|x) = N(μ, diag σ²) and the prior p(z) = N(0, I): their maths in one place.

The lecture writes q(z|x) = N(g(x), diag h(x)); the encoder outputs μ = g(x) and log σ², each [..., d].
Sampling is reparameterized, z = μ + ε·σ with ε ~ N(0, I), so the sample stays differentiable in μ and σ.
"""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def std_from_logvar(logvar: torch.Tensor) -> torch.Tensor:
    """σ = exp(½ log σ²)."""
    return torch.exp(0.5 * logvar)


def reparameterize(mu: torch.Tensor, std: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = μ + ε·σ: a draw of N(μ, σ²) from noise ε ~ N(0, I) that no weight touches, so z is a smooth
    function of μ and σ and gradients flow back through it."""
    return mu + eps * std


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log p(z) of the prior N(0, I), summed over the last dim, nats."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


class DiagonalGaussian:
    """q(z|x) for a batch: means `mu` and log-variances `logvar`, each [..., d]."""

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor):
        self.mu = mu
        self.logvar = logvar

    @property
    def std(self) -> torch.Tensor:
        return std_from_logvar(self.logvar)

    def reparameterize(self, eps: torch.Tensor) -> torch.Tensor:
        """z = μ + ε·σ for noise ε of μ's shape (or with extra leading sample dims)."""
        return reparameterize(self.mu, self.std, eps)

    def sample(self, n: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ q, [..., d]; with `n`, [n, ..., d]. ε is drawn on the generator's device (a CPU generator
        gives the same draws on every device) and moved to μ's."""
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        device = self.mu.device if generator is None else generator.device
        eps = torch.randn(shape, dtype=self.mu.dtype, device=device, generator=generator)
        return self.reparameterize(eps if eps.device == self.mu.device else eps.to(self.mu.device))

    def kl_per_dim(self) -> torch.Tensor:
        """KL(N(μ, σ²) || N(0, 1)) of each dimension, nats: ½(μ² + σ² − 1 − log σ²), [..., d]."""
        mu, logvar = self.mu, self.logvar
        if mu.dtype in (torch.float16, torch.bfloat16):
            mu, logvar = mu.float(), logvar.float()  # mixed precision (--amp): the KL is computed in float32
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)

    def kl(self) -> torch.Tensor:
        """KL(q || p(z)) summed over the latent dimensions, nats, [...]."""
        return self.kl_per_dim().sum(-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z), summed over the last dim, nats; z may carry extra leading sample dims."""
        return -0.5 * (LOG_2PI + self.logvar + (z - self.mu).pow(2) / self.logvar.exp()).sum(-1)
